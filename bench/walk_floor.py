"""The floor the issue names: a bare Python loop that only walks the pcap record headers.

No decoding at all; what is left of egress's time above this is the work per packet.
"""

from __future__ import annotations

import struct
import sys


def main(path: str) -> None:
    unpack = struct.Struct("<IIII").unpack_from
    packets = 0
    with open(path, "rb") as fh:
        fh.read(24)
        buf = b""
        pos = 0
        while chunk := fh.read(1 << 20):
            buf = buf[pos:] + chunk
            pos = 0
            n = len(buf)
            while pos + 16 <= n:
                _sec, _frac, caplen, _wirelen = unpack(buf, pos)
                if pos + 16 + caplen > n:
                    break
                pos += 16 + caplen
                packets += 1
    print(packets)


if __name__ == "__main__":
    main(sys.argv[1])
