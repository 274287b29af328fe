"""squid: the ``dstdomain`` reader (squid.conf acls or a plain list) and squid's matching.

squid ``dstdomain`` (squid-cache.org/Doc/config/acl): ``.example.com`` matches ``example.com``
and all its subdomains, ``example.com`` only itself; no ``*``.
"""

from __future__ import annotations

import re

from analyzer.allowlist.document import (
    WEB_PORTS,
    Doc,
    Format,
    parse_spec,
    strip_comment,
)
from analyzer.allowlist.model import PortRange
from analyzer.allowlist.patterns import Dialect, InvalidPattern, Matcher, check_labels
from analyzer.firewalls.destinations import Destinations


def leading_dot(pattern: str) -> Matcher:
    if "*" in pattern:
        raise InvalidPattern("'*' is not a wildcard here: use a leading dot (.example.com) for subdomains")
    check_labels(pattern)
    if pattern.startswith("."):
        base = pattern[1:]
        return lambda name: name == base or name.endswith(pattern)
    return lambda name: name == pattern


_SQUID_ACL_RE = re.compile(r"^\s*acl\s+(\S+)\s+(\S+)\s*(.*?)\s*$", re.I)
_SQUID_ACCESS_RE = re.compile(r"^\s*http_access\s+(allow|deny)\b(.*)$", re.I)
_SQUID_PROTOCOLS = frozenset({"HTTP", "HTTPS"})
_SQUID_ASSUMED = "HTTP/HTTPS 80/443 (no squid port acls; CONNECT to 443)"


def _read_squid(doc: Doc) -> None:
    if not any(_SQUID_ACL_RE.match(line) for line in doc.lines):
        _read_squid_list(doc)
        return
    # An acl named only by "http_access deny" lines is a blocklist.  "deny !Safe_ports" is the
    # usual way to allow ports, so negated names do not count.
    allowed: set[str] = set()
    denied: set[str] = set()
    for line in doc.lines:
        if access := _SQUID_ACCESS_RE.match(strip_comment(line)):
            names = {word for word in access[2].split() if not word.startswith("!")}
            (allowed if access[1].lower() == "allow" else denied).update(names)
    deny_only = denied - allowed
    domains: list[tuple[str, int, str]] = []
    ports: list[PortRange] = []
    for number, line in enumerate(doc.lines, 1):
        acl = _SQUID_ACL_RE.match(strip_comment(line))
        if not acl:
            continue
        name, acl_type = acl[1], acl[2].lower()
        values = [word for word in acl[3].split() if not word.startswith("-")]  # flags such as -i
        if acl_type not in ("dstdomain", "dst", "port", "dstdom_regex"):
            continue
        if name in deny_only:
            doc.note(number, f"skipped acl {name}: only http_access deny lines use it")
        elif acl_type == "dstdom_regex":
            doc.note(number, f"skipped acl {name}: dstdom_regex patterns are not compared")
        elif acl_type == "port":
            with doc.at(number):
                for value in values:
                    for span in parse_spec(value, "port")[1] or ():
                        if span not in ports:
                            ports.append(span)
        else:
            for value in values:
                if value.startswith('"'):
                    doc.note(number, f"acl {name} reads {value}: not followed (pass that file as its own allowlist)")
                else:
                    domains.append((value, number, name))
    assumed = None if ports else _SQUID_ASSUMED
    port_spans = tuple(sorted(ports, key=lambda span: (span.low, span.high))) or WEB_PORTS
    for value, number, name in domains:
        doc.add(value, number, _SQUID_PROTOCOLS, port_spans, assumed=assumed, rule=name)


def _read_squid_list(doc: Doc) -> None:
    for number, line in enumerate(doc.lines, 1):
        body = strip_comment(line).strip()
        if body:
            doc.add(body, number, _SQUID_PROTOCOLS, WEB_PORTS, assumed=_SQUID_ASSUMED)


DIALECTS = (Dialect("squid", leading_dot, leading_dot=True),)
FORMATS = (Format("squid", _read_squid, "acl NAME dstdomain lines, or one domain per line"),)


# ---------------------------------------------------------------------------------------------
# Export: the squid.conf fragment a capture justifies


def export_conf(dest: Destinations) -> str:
    names, addresses = dest.names, dest.addresses
    lines = ["# squid.conf fragment this capture justifies (egress-analyzer)"]
    ports = sorted({p for _, _, t, p in names if t == "TCP"} | {p for _, t, p in addresses if t == "TCP"})
    tcp_names = sorted({n for n, _, t, _ in names if t == "TCP"})
    tcp_addresses = sorted({a for a, t, _ in addresses if t == "TCP"})
    if tcp_names:
        lines += [f"acl install_egress dstdomain {n}" for n in tcp_names]
    if ports:
        lines.append("acl install_ports port " + " ".join(str(p) for p in ports))
    if tcp_names:
        lines.append("http_access allow install_egress install_ports")
    if tcp_addresses:
        lines += [f"acl install_egress_ip dst {a}" for a in tcp_addresses]
        lines.append("http_access allow install_egress_ip install_ports")
    return "\n".join(lines) + "\n"
