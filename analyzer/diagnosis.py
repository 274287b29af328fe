"""Why a capture yielded no external name: the likely mistake in how it was taken, in one line each.

An operator who uploads ``out.pcap`` and gets an empty table learns nothing; the capture facts
and the noise columns usually say what went wrong (tcpdump on the loopback interface, a snap
length that cut every packet, a capture started after the install's lookups).  A front end shows
these lines instead of an empty page.  Each line is plain text built from counts and the
report's own kinds: no packet-derived text goes into it.
"""

from __future__ import annotations

from analyzer.report import Report

# A capture where at least this share of the packets could not be decoded was most likely cut by
# the snap length (tcpdump -s): the headers are there, what follows them is not.
_UNDECODED_SHARE = 0.5
_LOOPBACK_LINK_TYPES = {0, 108}  # BSD null/loop: what `tcpdump -i lo` writes on BSD and macOS


def _loopback(address: str) -> bool:
    return address.startswith("127.") or address == "::1"


def diagnose(report: Report) -> tuple[str, ...]:
    """Lines that explain an empty result; empty when the report names at least one external destination."""
    egress = report.egress()
    if any(r["fqdn"] for r in egress):
        return ()
    cap = report.capture
    if cap.packets == 0:
        return ("the capture holds no packets: tcpdump was stopped before the install sent anything",)
    if cap.undecoded_link_type_packets == cap.packets:
        names = ", ".join(cap.link_type_names)
        return (f"every packet has a link type egress cannot decode ({names}): capture with tcpdump -i any",)
    if cap.non_ip_packets + cap.undecoded_link_type_packets >= cap.packets:
        return (
            "no IP packet in the capture, only link-layer traffic (ARP, LLDP, STP): was the right interface captured?",
        )
    out: list[str] = []
    if cap.parse_errors >= _UNDECODED_SHARE * cap.packets:
        out.append(
            f"snap length cut the packets: {cap.parse_errors:,} of {cap.packets:,} could not be decoded; "
            "capture with tcpdump -s 0 (the default) to keep whole headers"
        )
    addresses = [a for r in report.summary.rows for a in r["addresses"]]
    if (addresses and all(_loopback(a) for a in addresses)) or set(cap.link_types) <= _LOOPBACK_LINK_TYPES:
        out.append("only loopback traffic: was tcpdump run with -i lo? Capture with -i any to see the install's egress")
    elif report.summary.rows and not egress:
        kinds = sorted({str(r["noise"]) for r in report.summary.rows})
        out.append(
            f"every destination is noise ({', '.join(kinds)}), none is internet egress: capture on the host that ran "
            "the install, with -i any"
        )
    if egress:
        out.append(
            f"{len(egress)} external destination(s) by address only: no DNS answer, TLS SNI or HTTP Host named them; "
            "start tcpdump before the install so that its lookups are captured"
        )
    if not out:
        out.append(f"no connection to an external destination in {cap.packets:,} packets")
    return tuple(out)
