"""A peer for `make bench`: nfstream (a Python flow tool on nDPI's compiled dissectors) streams the
capture into flows and reads the names nDPI found in them (DNS query, TLS SNI, HTTP Host: its
``requested_server_name``), as its documentation shows.  Prints how many flows named one.

nfstream's defaults are kept, as a user would run it: that includes its metering processes, one
per core (``n_meters=0``), so its wall time may use every core where egress uses one.
"""

from __future__ import annotations

import sys

from nfstream import NFStreamer


def main(path: str) -> None:
    named = 0
    for flow in NFStreamer(source=path):
        if flow.requested_server_name:
            named += 1
    print(named)


if __name__ == "__main__":  # nfstream's meters are processes: the guard keeps them from re-running this
    main(sys.argv[1])
