"""``egress export --to TARGET``: the allowlist a capture justifies, in each firewall's own syntax.

What a capture justifies (and what an export must leave out, and why) is decided once, in
:mod:`analyzer.firewalls.destinations`; each vendor's writer sits beside its reader and dialect
(:mod:`analyzer.firewalls`), the generic request document and text list beside theirs
(:mod:`analyzer.allowlist.formats`).  Here: the target names, and the notes as comments where the
format has them (the CLI also says them on stderr: JSON has no comments).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from analyzer.allowlist.formats.markdown import export_request
from analyzer.allowlist.formats.text import export_text
from analyzer.firewalls import aws, azure, cilium, squid
from analyzer.firewalls.destinations import Destinations, is_dns_name, justified, notes
from analyzer.report import Report

__all__ = ["COMMENTS", "TARGETS", "Export", "build", "is_dns_name", "notes", "render"]

WRITERS: dict[str, Callable[[Destinations], str]] = {
    "request-md": export_request,
    "azure-bicep": azure.export_bicep,
    "azure-arm": azure.export_arm,
    "cilium": cilium.export_policy,
    "squid": squid.export_conf,
    "aws-domain-list": aws.export_domain_list,
    "text": export_text,
}
TARGETS = tuple(WRITERS)

# How each format writes a comment line; JSON formats have none.
COMMENTS = {"request-md": "", "azure-bicep": "// ", "cilium": "# ", "squid": "# ", "text": "# "}


@dataclass(frozen=True, slots=True)
class Export:
    text: str
    notes: tuple[str, ...]  # what the text leaves out or qualifies, and why (also in its comments)


def build(report: Report, target: str) -> Export:
    dest = justified(report)
    found = notes(report, target, dest)
    text = WRITERS[target](dest)
    prefix = COMMENTS.get(target)
    if prefix is not None and found:
        if target == "request-md":
            text += "\n## Not in this request\n\n" + "\n\n".join(found) + "\n"
        else:
            text += "".join(f"{prefix}{n}\n" for n in found)
    return Export(text, tuple(found))


def render(report: Report, target: str) -> str:
    return build(report, target).text
