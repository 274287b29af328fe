"""The naive baseline: dpkt decodes every packet and looks for DNS names, SNI and Host headers.

A packet dpkt cannot parse is skipped, as any per-packet loop over real traffic must: dpkt raises
its own errors (``dpkt.Error``: UnpackError, NeedData) and, from the TLS reader, ``SSL3Exception``
(a record it does not know, such as a ServerHello cut by the segment boundary)."""

from __future__ import annotations

import struct
import sys

import dpkt
import dpkt.ssl


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
            except (dpkt.dpkt.Error, dpkt.ssl.SSL3Exception, AttributeError, ValueError, struct.error):
                continue
    print(names)


if __name__ == "__main__":
    main(sys.argv[1])
