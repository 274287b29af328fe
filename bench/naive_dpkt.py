"""The naive baseline: dpkt decodes every packet and looks for DNS names, SNI and Host headers."""

from __future__ import annotations

import sys

import dpkt


def main(path: str) -> None:
    names = 0
    with open(path, "rb") as fh:
        reader = dpkt.pcapng.Reader(fh) if path.endswith(".pcapng") else dpkt.pcap.Reader(fh)
        for _ts, buf in reader:
            try:
                ip = dpkt.ethernet.Ethernet(buf).data
                l4 = ip.data
                if isinstance(l4, dpkt.udp.UDP) and 53 in (l4.sport, l4.dport):
                    names += len(dpkt.dns.DNS(l4.data).qd)
                elif isinstance(l4, dpkt.tcp.TCP) and l4.data[:1] == b"\x16":
                    records, _ = dpkt.ssl.tls_multi_factory(l4.data)
                    names += len(records)
                elif isinstance(l4, dpkt.tcp.TCP) and l4.data[:4] in (b"GET ", b"POST", b"HEAD"):
                    names += 1
            except (dpkt.dpkt.UnpackError, AttributeError, ValueError):
                continue
    print(names)


if __name__ == "__main__":
    main(sys.argv[1])
