"""text: one host name, address or pattern per line, with an optional port or protocol."""

from __future__ import annotations

from analyzer.allowlist.document import Doc, Format, clean, fill_defaults, host_and_spec, strip_comment
from analyzer.firewalls.destinations import Destinations


def _read_text(doc: Doc) -> None:
    for number, line in enumerate(doc.lines, 1):
        body = clean(strip_comment(line))
        if not body:
            continue
        with doc.entry(number):
            host, protocols, ports = host_and_spec(body)
            protocols_, ports_, assumed = fill_defaults(
                protocols, ports, no_port="no port given", no_protocol="no protocol given"
            )
            doc.add(host, number, protocols_, ports_, assumed=assumed)


FORMAT = Format("text", _read_text, "one host name, address or pattern per line")


# ---------------------------------------------------------------------------------------------
# Export: one destination a line, the shape this reader reads


def export_text(dest: Destinations) -> str:
    names, addresses = dest.names, dest.addresses
    lines = ["# name protocol/port  (egress-analyzer)"]
    lines += sorted({f"{n} {t.lower()}/{p}" for n, _, t, p in names})
    lines += sorted({f"{a} {t.lower()}/{p}" for a, t, p in addresses})
    return "\n".join(lines) + "\n"
