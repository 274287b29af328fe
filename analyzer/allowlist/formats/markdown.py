"""request-md: the Markdown request document (Destinations lists, tables, fenced Azure rules)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from analyzer.allowlist.document import (
    Doc,
    Format,
    Ports,
    Problem,
    clean,
    fill_defaults,
    first_column,
    host_and_spec,
    parse_spec,
    plural,
)
from analyzer.firewalls.azure import AZURE_KEYS_RE, read_bicep_text, read_json_text
from analyzer.firewalls.destinations import Destinations

_FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)")
_HEADING_RE = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)[\s#]*$")
_MD_KEY_RE = re.compile(r"^(\s*)(?:([-*+]|\d+[.)])\s+)?(protocols?|ports?|action|destinations?)\s*:\s*(.*)$", re.I)
_MD_ITEM_RE = re.compile(r"^(\s*)(?:[-*+]|\d+[.)])\s+(.*)$")
_TABLE_SEP_RE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?\s*$")
_CELL_SPLIT_RE = re.compile(r"(?<!\\)\|")
# A destination item may carry a description: "api.snapcraft.io - snap store", "x.com (mirror)".
_DESCRIPTION_RE = re.compile(r"^(\S+)\s+(?:\(|[-\u2013\u2014:#]|//).*$")
_ALLOW_WORDS = ("allow", "permit", "accept")
_DENY_WORDS = ("deny", "block", "drop", "reject")
_MD_NO_PORT = "no port in the request"
_MD_NO_PROTOCOL = "no protocol in the request"

_TABLE_DEST = {"destination", "destinations", "fqdn", "fqdns", "domain", "domains", "host", "hosts", "hostname"}
_TABLE_PORT = {"port", "ports", "destinationport", "destinationports"}
_TABLE_PROTOCOL = {"protocol", "protocols", "proto"}
_TABLE_ACTION = {"action"}


@dataclass
class _MdState:
    """Where the reader is in the document and what the Protocol/Port/Action lines above said."""

    section: str | None = None
    level: int = 0  # level of the current heading (0 before any)
    keys_level: int | None = None  # heading level the current Protocol/Port/Action lines were under
    protocols: frozenset[str] | None = None
    ports: Ports | None = None
    deny: bool = False
    list_indent: int | None = None  # inside a Destinations list: items are indented deeper than this
    denied: list[int] = field(default_factory=list)  # lines skipped under Action: Deny

    def reset_keys(self) -> None:
        self.keys_level, self.protocols, self.ports, self.deny = None, None, None, False


def _read_request_md(doc: Doc) -> None:
    lines, state, index = doc.lines, _MdState(), 0
    while index < len(lines):
        if fence := _FENCE_RE.match(lines[index]):
            state.list_indent = None
            index = _md_fence(doc, index, fence)
        elif is_table_start(lines, index):
            state.list_indent = None
            index = _md_table(doc, state, index)
        else:
            _md_line(doc, state, index + 1, lines[index])
            index += 1
    if state.denied:
        shown = ", ".join(str(n) for n in state.denied)
        doc.note(None, f"skipped {plural(len(state.denied), 'destination')} listed under 'Action: Deny' (line {shown})")


def _md_fence(doc: Doc, index: int, fence: re.Match[str]) -> int:
    """Skip a fenced block, reading ```bicep / ```json blocks that hold Azure Firewall rules."""
    marker, info = fence[1], fence[2].lower()
    closing = re.compile(rf"^ {{0,3}}{re.escape(marker[0])}{{{len(marker)},}}\s*$")
    end = index + 1
    while end < len(doc.lines) and not closing.match(doc.lines[end]):
        end += 1
    body = "\n".join(doc.lines[index + 1 : end])
    if AZURE_KEYS_RE.search(body):
        if info == "bicep":
            read_bicep_text(doc, body, index + 2)
        elif info in ("json", "jsonc"):
            read_json_text(doc, body, index + 2)
    return end + 1


def is_table_start(lines: Sequence[str], index: int) -> bool:
    return (
        "|" in lines[index]
        and index + 1 < len(lines)
        and "|" in lines[index + 1]
        and _TABLE_SEP_RE.match(lines[index + 1]) is not None
    )


def _cells(line: str) -> list[str]:
    row = line.strip()
    row = row[1:] if row.startswith("|") else row
    row = row[:-1] if row.endswith("|") and not row.endswith("\\|") else row
    return [cell.strip() for cell in _CELL_SPLIT_RE.split(row)]


def _md_table(doc: Doc, state: _MdState, index: int) -> int:
    raw_header = [cell.lower() for cell in _cells(doc.lines[index])]
    header = [re.sub(r"[^a-z]", "", cell) for cell in raw_header]
    end = index + 2
    while end < len(doc.lines) and "|" in doc.lines[end] and doc.lines[end].strip():
        end += 1
    if any("count_" in cell for cell in raw_header):
        # A KQL "summarize count()" result: traffic that was observed, not destinations requested.
        doc.note(index + 1, "skipped a table with a count_ column: it is observed traffic, not a request")
        return end
    column = first_column(header, _TABLE_DEST)
    if column is None:
        return end  # some other table (ports overview, contacts, ...)
    port_col, protocol_col = first_column(header, _TABLE_PORT), first_column(header, _TABLE_PROTOCOL)
    action_col = first_column(header, _TABLE_ACTION)
    for number in range(index + 3, end + 1):
        cells = _cells(doc.lines[number - 1])

        def cell(col: int | None, cells: list[str] = cells) -> str:
            return clean(cells[col]) if col is not None and col < len(cells) else ""

        if not cell(column):
            continue
        with doc.entry(number):
            action = cell(action_col).lower()
            if action in _DENY_WORDS or (not action and state.deny):
                state.denied.append(number)
                continue
            host, protocols, ports = host_and_spec(_drop_description(cell(column)))
            if cell(port_col):
                found_protocols, ports = parse_spec(cell(port_col), "port")
                protocols = found_protocols or protocols
            if cell(protocol_col):
                protocols, found_ports = parse_spec(cell(protocol_col), "protocol")
                ports = found_ports if found_ports is not None else ports
            _md_add(doc, state, number, host, protocols, ports)
    return end


def _md_line(doc: Doc, state: _MdState, number: int, line: str) -> None:
    if not line.strip():
        return  # blank lines do not end a list (Markdown "loose" lists)
    if heading := _HEADING_RE.match(line):
        level, title = len(heading[1]), clean(heading[2])
        state.list_indent = None
        # Protocol/Port lines hold for their own section and its subsections only.
        if state.keys_level is not None and level <= state.keys_level:
            state.reset_keys()
        state.level, state.section = level, title
        if re.fullmatch(r"destinations?:?", title, re.I):
            state.list_indent = -1
        return
    key = _MD_KEY_RE.match(line.replace("**", "").replace("__", ""))
    if state.list_indent is not None and not key:
        item = _MD_ITEM_RE.match(line)
        if item and len(item[1].expandtabs(4)) > state.list_indent:
            _md_destination(doc, state, number, item[2])
            return
    state.list_indent = None
    if not key:
        return
    indent, bullet, name, value = key[1], key[2], key[3].lower().rstrip("s"), clean(key[4])
    if name == "destination":
        state.list_indent = len(indent.expandtabs(4)) if bullet else -1
        for piece in filter(None, (p.strip() for p in value.split(","))):  # "Destinations: a.com, b.com"
            _md_destination(doc, state, number, piece)
        return
    if state.keys_level is None:
        state.keys_level = state.level
    with doc.at(number):
        if name == "protocol":
            protocols, ports = parse_spec(value, "protocol")
            state.protocols = protocols or state.protocols
            state.ports = ports if ports is not None else state.ports
        elif name == "port":
            protocols, ports = parse_spec(value, "port")
            state.protocols = protocols or state.protocols
            state.ports = ports if ports is not None else state.ports
        elif value.lower() in _DENY_WORDS:
            state.deny = True
        elif value.lower() in _ALLOW_WORDS:
            state.deny = False
        else:
            raise Problem(f"unknown action {value!r} (expected Allow or Deny)")


def _md_destination(doc: Doc, state: _MdState, number: int, text: str) -> None:
    text = clean(text)
    if not text or text.endswith(":"):
        return  # a group label inside the list ("Canonical:")
    if state.deny:
        state.denied.append(number)
        return
    with doc.entry(number):
        host, protocols, ports = host_and_spec(_drop_description(text))
        _md_add(doc, state, number, host, protocols, ports)


def _drop_description(text: str) -> str:
    match = _DESCRIPTION_RE.match(text)
    return match[1] if match else text


def _md_add(
    doc: Doc, state: _MdState, number: int, host: str, protocols: frozenset[str] | None, ports: Ports | None
) -> None:
    """Entry-level port/protocol first, then the section's Protocol/Port lines, then the default."""
    protocols = protocols if protocols is not None else state.protocols
    ports = ports if ports is not None else state.ports
    filled_protocols, filled_ports, assumed = fill_defaults(
        protocols, ports, no_port=_MD_NO_PORT, no_protocol=_MD_NO_PROTOCOL
    )
    doc.add(host, number, filled_protocols, filled_ports, assumed=assumed, rule=state.section)


FORMAT = Format(
    "request-md",
    _read_request_md,
    "a Destinations: list, a table with a Destination/FQDN/Domain/Host column, "
    "or ```bicep/```json blocks with targetFqdns",
)


# ---------------------------------------------------------------------------------------------
# Writing: the request document a capture justifies


def change_request(names: list[tuple[str, str, int]], escape: Callable[[str], str] = str) -> list[str]:
    """The same shape as the request documents operators file (Protocol, Port, Action, Destinations): what
    this module reads.  ``escape`` makes each name safe where the text lands (a Markdown report)."""
    out: list[str] = []
    by_proto: dict[str, dict[str, set[int]]] = {}
    for name, transport, port in names:
        by_proto.setdefault(transport, {}).setdefault(name, set()).add(port)
    for transport in sorted(by_proto):
        groups: dict[tuple[int, ...], list[str]] = {}
        for name, ports in by_proto[transport].items():
            groups.setdefault(tuple(sorted(ports)), []).append(name)
        for port_list, group in sorted(groups.items()):
            out += [
                "- Protocol: " + transport,
                "- Port: " + "/".join(str(p) for p in port_list),
                "- Action: Allow",
                "- Destinations:",
                *[f"  - {escape(n)}" for n in sorted(group)],
                "",
            ]
    return out


def export_request(dest: Destinations) -> str:
    names, addresses = dest.names, dest.addresses
    body = change_request([(n, t, p) for n, _, t, p in names] + list(addresses))
    intro = "Allow egress to the destinations below: what the captured install contacted (egress-analyzer)."
    head = ["## Requested Policy Change", "", intro, "", "## Key points about the firewall rule", ""]
    return "\n".join([*head, *body]).rstrip() + "\n"
