"""Azure Firewall: the Bicep and ARM JSON rule readers and Azure's wildcard matching.

Azure Firewall application rules (learn.microsoft.com/azure/firewall/firewall-faq, "How do
wildcards work in target URLs and target FQDNs in application rules?"): ``*`` only as the
leftmost character; ``*.contoso.com`` matches any subdomain at any depth but not
``contoso.com``; ``*contoso.com`` matches ``contoso.com`` and every name that ends in
``contoso.com``, ``notcontoso.com`` included; ``*`` alone matches all.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from analyzer.allowlist.document import (
    MAX_DEPTH,
    WEB_PORTS,
    Doc,
    Format,
    Ports,
    Problem,
    TooDeep,
    is_address,
    json_too_deep,
    parse_spec,
    plural,
    port_range,
    too_deep,
)
from analyzer.allowlist.model import ANY, PortRange
from analyzer.allowlist.patterns import Dialect, InvalidPattern, Matcher, always, check_labels
from analyzer.firewalls.destinations import Destinations, app_protocol


def _azure(pattern: str) -> Matcher:
    if pattern == "*":
        return always
    if "*" in pattern[1:]:
        raise InvalidPattern("Azure Firewall accepts '*' only as the leftmost character")
    check_labels(pattern.lstrip("*") or "x", allow_star=False)
    if pattern.startswith("*"):
        suffix = pattern[1:]
        if suffix.startswith("."):
            return lambda name: name.endswith(suffix) and len(name) > len(suffix)
        return lambda name: name.endswith(suffix)
    return lambda name: name == pattern


AZURE_KEYS_RE = re.compile(r"\b(?:targetFqdns|fqdnTags|destinationFqdns)\b")
_APP_RULE_KEYS = ("targetFqdns", "fqdnTags", "targetUrls", "webCategories")
_NET_RULE_KEYS = ("destinationFqdns", "destinationAddresses", "destinationIpGroups")
_APP_PROTOCOLS = {"http": ("HTTP", 80), "https": ("HTTPS", 443), "mssql": ("TCP", 1433)}
_NET_PROTOCOLS = {"tcp": "TCP", "udp": "UDP", "any": ANY}

Locate = Callable[[str], int]


class _Loc(str):
    """A Bicep string value that remembers the 1-based line it was read from."""

    line: int

    def __new__(cls, value: str, line: int) -> _Loc:
        self = super().__new__(cls, value)
        self.line = line
        return self


@dataclass(frozen=True)
class _Opaque:
    """A Bicep expression (variable, function call, interpolation, loop): not evaluated."""

    line: int


def _is_expression(value: object) -> bool:
    # ARM template expressions are strings in brackets: "[parameters('fqdns')]" ("[[" escapes a "[").
    return isinstance(value, _Opaque) or (
        isinstance(value, str) and value.startswith("[") and value.endswith("]") and not value.startswith("[[")
    )


def _azure_walk(doc: Doc, node: object, locate: Locate, action: str = "allow", name: str | None = None) -> None:
    """Find application and network rules anywhere in a Bicep/ARM tree.

    ``action`` comes from the nearest enclosing rule collection ({action: {type: 'Deny'}}) and
    ``name`` from the nearest named object, for rules that have no name of their own.
    """
    if isinstance(node, list):
        for item in node:
            _azure_walk(doc, item, locate, action, name)
        return
    if not isinstance(node, dict):
        return
    declared = node.get("action")
    if isinstance(declared, dict) and isinstance(declared.get("type"), str):
        action = declared["type"].lower()
    own_name = node.get("name")
    if isinstance(own_name, str) and not _is_expression(own_name):
        name = str(own_name)
    if any(key in node for key in _APP_RULE_KEYS):
        _azure_application_rule(doc, node, locate, action, name)
    elif any(key in node for key in _NET_RULE_KEYS):
        _azure_network_rule(doc, node, locate, action, name)
    else:
        for value in node.values():
            _azure_walk(doc, value, locate, action, name)


def _azure_strings(doc: Doc, value: object, key: str, rule: str | None, locate: Locate) -> list[tuple[str, int]]:
    """The literal strings of a rule's list property, each with its line; expressions are noted."""
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    out: list[tuple[str, int]] = []
    for item in items:
        if _is_expression(item) or not isinstance(item, str):
            line = item.line if isinstance(item, _Opaque) else locate(str(item))
            doc.note(line, f"skipped {key} of rule {rule!r}: an expression, not evaluated")
            continue
        out.append((item, locate(item)))
    return out


def _azure_application_rule(doc: Doc, rule: dict[str, object], locate: Locate, action: str, name: str | None) -> None:
    found: list[tuple[str, str, int]] = []  # (key, value, line), in the order the document has them
    for key, value in rule.items():
        if key in ("targetFqdns", "fqdnTags"):
            found += [(key, text, line) for text, line in _azure_strings(doc, value, key, name, locate)]
        elif key in ("targetUrls", "webCategories") and value:
            doc.note(None, f"skipped {key} of rule {name!r}: only FQDNs are compared")
    if action != "allow":
        if found:
            doc.note(found[0][2], f"skipped {action.capitalize()} rule {name!r} ({plural(len(found), 'destination')})")
        return
    for key, text, line in found:
        with doc.at(line):
            groups = _azure_app_protocols(rule.get("protocols"))
        for protocols, ports, assumed in groups:
            kind = "tag" if key == "fqdnTags" else None
            doc.add(text, line, protocols, ports, assumed=assumed, rule=name, kind=kind)
        if key == "fqdnTags":
            doc.note(line, f"FQDN tag {text!r} is kept as a tag entry; the FQDNs behind it are not expanded")


def _azure_app_protocols(value: object) -> list[tuple[frozenset[str], Ports, str | None]]:
    """One (protocol, ports) group per protocolType, so Http:80 + Https:443 do not allow Http:443."""
    if not isinstance(value, list) or not value:
        return [(frozenset({"HTTP", "HTTPS"}), WEB_PORTS, "HTTP/HTTPS 80/443 (rule lists no protocols)")]
    groups: dict[str, list[PortRange]] = {}
    for item in value:
        if not isinstance(item, dict):
            raise Problem("protocols must be objects like {protocolType: 'Https', port: 443}")
        kind = str(item.get("protocolType", "")).lower()
        if kind not in _APP_PROTOCOLS:
            raise Problem(f"unknown protocolType {item.get('protocolType')!r} (expected Http, Https or Mssql)")
        protocol, default_port = _APP_PROTOCOLS[kind]
        port = item.get("port", default_port)
        if isinstance(port, bool) or not isinstance(port, int | str) or not str(port).isdigit():
            raise Problem(f"bad port {port!r}")
        span = port_range(int(port))
        if span not in groups.setdefault(protocol, []):
            groups[protocol].append(span)
    return [(frozenset({protocol}), tuple(ports), None) for protocol, ports in groups.items()]


def _azure_network_rule(doc: Doc, rule: dict[str, object], locate: Locate, action: str, name: str | None) -> None:
    if "translatedAddress" in rule or "translatedFqdn" in rule or str(rule.get("ruleType", "")).lower() == "natrule":
        doc.note(None, f"skipped NAT rule {name!r}: it translates inbound traffic, it allows no egress")
        return
    found: list[tuple[str, str, int]] = []
    for key, value in rule.items():
        if key in ("destinationFqdns", "destinationAddresses"):
            found += [(key, text, line) for text, line in _azure_strings(doc, value, key, name, locate)]
        elif key == "destinationIpGroups" and value:
            doc.note(None, f"skipped destinationIpGroups of rule {name!r}: IP groups are not expanded")
    if action != "allow":
        if found:
            doc.note(found[0][2], f"skipped {action.capitalize()} rule {name!r} ({plural(len(found), 'destination')})")
        return
    if not found:
        return
    line = found[0][2]
    with doc.at(line):
        protocols, protocols_assumed = _azure_net_protocols(doc, line, rule.get("ipProtocols", rule.get("protocols")))
        ports, ports_assumed = _azure_net_ports(rule.get("destinationPorts"))
    if not protocols:
        doc.note(line, f"skipped network rule {name!r}: it allows only ICMP")
        return
    assumed = "; ".join(filter(None, (protocols_assumed, ports_assumed))) or None
    for key, text, text_line in found:
        kind = None
        if key == "destinationAddresses" and text != "*" and not is_address(text.lower()):
            kind = "tag"  # a service tag such as AzureCloud.WestEurope
            doc.note(text_line, f"service tag {text!r} is kept as a tag entry; its addresses are not expanded")
        doc.add(text, text_line, protocols, ports, assumed=assumed, rule=name, kind=kind)


def _azure_net_protocols(doc: Doc, line: int, value: object) -> tuple[frozenset[str], str | None]:
    if not isinstance(value, list) or not value:
        return frozenset({ANY}), "protocol ANY (rule lists no ipProtocols)"
    protocols: set[str] = set()
    for item in value:
        word = str(item).lower()
        if word == "icmp":
            doc.note(line, "ICMP in a network rule is not compared (only TCP/UDP are)")
        elif word in _NET_PROTOCOLS:
            protocols.add(_NET_PROTOCOLS[word])
        else:
            raise Problem(f"unknown ipProtocol {item!r} (expected TCP, UDP, Any or ICMP)")
    return frozenset(protocols), None


def _azure_net_ports(value: object) -> tuple[Ports, str | None]:
    if not isinstance(value, list) or not value:
        return (), "any port (rule lists no destinationPorts)"
    ports: list[PortRange] = []
    for item in value:
        _, found = parse_spec(str(item), "port")
        if found == ():
            return (), None  # "*"
        for span in found or ():
            if span not in ports:
                ports.append(span)
    return tuple(ports), None


class _JsonLocator:
    """Best-effort lines for JSON values: the json module forgets positions, so find each value's
    quoted text after the previous one found (the walk visits values in document order)."""

    def __init__(self, text: str, first_line: int) -> None:
        self.text, self.pos, self.line = text, 0, first_line

    def __call__(self, value: str) -> int:
        for needle in (json.dumps(value, ensure_ascii=False), json.dumps(value)):
            found = self.text.find(needle, self.pos)
            if found >= 0:
                self.line += self.text.count("\n", self.pos, found)
                self.pos = found + len(needle)
                break
        return self.line


def read_json_text(doc: Doc, text: str, first_line: int) -> None:
    if (offset := json_too_deep(text)) is not None:
        raise too_deep(doc.error, first_line + text.count("\n", 0, offset))
    try:
        tree = json.loads(text)
    except json.JSONDecodeError as exc:
        raise doc.error(first_line + exc.lineno - 1, f"JSON syntax error: {exc.msg}") from None
    _azure_walk(doc, tree, _JsonLocator(text, first_line))


def _read_azure_arm(doc: Doc) -> None:
    read_json_text(doc, doc.text, 1)


# Bicep: just enough of the language to read object and array literals.  Anything else (variables,
# function calls, loops, interpolated strings) becomes an _Opaque value that the rules walk notes.
_BICEP_TOKEN_RE = re.compile(
    r"""
    (?P<space>[ \t]+)
    |(?P<newline>\n)
    |(?P<comment>//[^\n]*|/\*.*?\*/)
    |(?P<multi>'''.*?''')
    |(?P<string>'(?:\\.|[^'\\\n])*')
    |(?P<punct>[{}\[\]():,])
    |(?P<word>[^\s{}\[\]():,'/]+|/)
    """,
    re.VERBOSE | re.DOTALL,
)
_BICEP_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", "'": "'", "$": "$"}

Token = tuple[str, str, int]  # (kind, text, line)


def _bicep_tokens(doc: Doc, text: str, first_line: int) -> list[Token]:
    tokens: list[Token] = []
    pos, line = 0, first_line
    while pos < len(text):
        match = _BICEP_TOKEN_RE.match(text, pos)
        if match is None:
            raise doc.error(line, "unterminated string")
        kind = match.lastgroup or ""
        if kind not in ("space", "comment"):
            tokens.append((kind, match[0], line))
        line += match[0].count("\n")
        pos = match.end()
    return tokens


class _BicepParser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens, self.pos = tokens, 0
        self.depth = 0  # objects and arrays open around the current token

    def _enter(self) -> None:
        """Count one more level of nesting; past MAX_DEPTH the recursion below would overflow."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            token = self._peek()
            raise TooDeep(token[2] if token else 0)

    def _peek(self, ahead: int = 0) -> Token | None:
        index = self.pos + ahead
        return self.tokens[index] if index < len(self.tokens) else None

    def _text(self, ahead: int = 0) -> str:
        token = self._peek(ahead)
        return token[1] if token else ""

    def literals(self) -> list[object]:
        """Every top-level object or array literal (the right-hand sides of resource/var/param)."""
        found: list[object] = []
        while (token := self._peek()) is not None:
            if token[1] == "{":
                found.append(self._object())
            elif token[1] == "[":
                found.append(self._array())
            else:
                self.pos += 1
        return found

    def _object(self) -> dict[str, object]:
        self._enter()
        self.pos += 1  # "{"
        out: dict[str, object] = {}
        while (token := self._peek()) is not None:
            if token[0] == "newline" or token[1] == ",":
                self.pos += 1
            elif token[1] == "}":
                self.pos += 1
                break
            elif token[0] in ("word", "string") and self._text(1) == ":":
                key = token[1].strip("'")
                self.pos += 2
                out[key] = self._value(in_array=False)
            else:
                self._skip_expression()  # a decorator, a spread, something we do not read
                if self._peek() is token:
                    self.pos += 1
        self.depth -= 1
        return out

    def _array(self) -> list[object] | _Opaque:
        self._enter()
        start = self._peek()
        self.pos += 1  # "["
        if self._text() == "for":  # [for x in xs: ...] is computed
            self.pos -= 1
            self._skip_expression()
            self.depth -= 1
            return _Opaque(start[2] if start else 0)
        out: list[object] = []
        while (token := self._peek()) is not None:
            if token[0] == "newline" or token[1] == ",":
                self.pos += 1
            elif token[1] == "]":
                self.pos += 1
                break
            else:
                before = self.pos
                out.append(self._value(in_array=True))
                if self.pos == before:  # a stray ")" or "}": step over it
                    self.pos += 1
        self.depth -= 1
        return out

    def _value(self, in_array: bool) -> object:
        token = self._peek()
        if token is None:
            return _Opaque(0)
        kind, text, line = token
        if text == "{":
            return self._object()
        if text == "[":
            return self._array()
        if kind in ("string", "multi") or (kind == "word" and re.fullmatch(r"-?\d+|true|false|null", text)):
            self.pos += 1
            if self._value_ended(in_array):
                return _bicep_literal(kind, text, line)
            self.pos -= 1
        self._skip_expression()
        return _Opaque(line)

    def _value_ended(self, in_array: bool) -> bool:
        token = self._peek()
        if token is None or token[0] == "newline" or token[1] in (",", "}", "]"):
            return True
        if in_array:  # Bicep arrays separate items by newlines or spaces: ['a' 'b']
            return token[0] in ("string", "multi", "word") or token[1] in ("{", "[")
        # Next key on the same line: { port: 443 protocolType: 'Https' }
        return token[0] in ("word", "string") and self._text(1) == ":"

    def _skip_expression(self) -> None:
        """Consume one expression up to the end of its line (or a closing bracket), keeping brackets balanced."""
        depth = 0
        while (token := self._peek()) is not None:
            text = token[1]
            if depth == 0 and (token[0] == "newline" or text in (",", "}", "]", ")")):
                return
            if text in ("{", "[", "("):
                depth += 1
            elif text in ("}", "]", ")"):
                depth -= 1
            self.pos += 1


def _bicep_literal(kind: str, text: str, line: int) -> object:
    if kind == "multi":
        return _Loc(text[3:-3], line)
    if kind == "string":
        if "${" in text:
            return _Opaque(line)  # interpolation: depends on parameters
        return _Loc(re.sub(r"\\(.)", lambda m: _BICEP_ESCAPES.get(m[1], m[1]), text[1:-1]), line)
    if text in ("true", "false"):
        return text == "true"
    if text == "null":
        return None
    return int(text)


def read_bicep_text(doc: Doc, text: str, first_line: int) -> None:
    try:
        tree = _BicepParser(_bicep_tokens(doc, text, first_line)).literals()
    except TooDeep as exc:
        raise too_deep(doc.error, exc.line) from None

    def locate(value: str) -> int:
        return value.line if isinstance(value, _Loc) else first_line

    _azure_walk(doc, tree, locate)


def _read_azure_bicep(doc: Doc) -> None:
    read_bicep_text(doc, doc.text, 1)


_LOOKED_FOR = "targetFqdns, fqdnTags, destinationFqdns or destinationAddresses in Azure Firewall rules"
DIALECTS = (Dialect("azure", _azure),)
FORMATS = (Format("azure-bicep", _read_azure_bicep, _LOOKED_FOR), Format("azure-arm", _read_azure_arm, _LOOKED_FOR))


# ---------------------------------------------------------------------------------------------
# Export: the rules a capture justifies, as Bicep variables or an ARM rule collection group


def _rules(dest: Destinations) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    names, addresses = dest.names, dest.addresses
    app: dict[tuple[str, int], set[str]] = defaultdict(set)
    net: dict[tuple[str, int], set[str]] = defaultdict(set)
    for name, protocol, transport, port in names:
        kind = app_protocol(protocol, port)
        if kind:
            app[(kind, port)].add(name)
        else:
            net[(transport, port)].add(name)
    app_rules = [
        {
            "ruleType": "ApplicationRule",
            "name": f"allow-{kind.lower()}-{port}",
            "sourceAddresses": ["*"],
            "protocols": [{"port": port, "protocolType": kind}],
            "targetFqdns": sorted(targets),
        }
        for (kind, port), targets in sorted(app.items())
    ]
    net_rules = [
        {
            "ruleType": "NetworkRule",
            "name": f"allow-{transport.lower()}-{port}",
            "sourceAddresses": ["*"],
            "ipProtocols": [transport],
            "destinationPorts": [str(port)],
            "destinationFqdns": sorted(targets),
        }
        for (transport, port), targets in sorted(net.items())
    ]
    by_port: dict[tuple[str, int], set[str]] = defaultdict(set)
    for address, transport, port in addresses:
        by_port[(transport, port)].add(address)
    net_rules += [
        {
            "ruleType": "NetworkRule",
            "name": f"allow-{transport.lower()}-{port}-addresses",
            "sourceAddresses": ["*"],
            "ipProtocols": [transport],
            "destinationPorts": [str(port)],
            "destinationAddresses": sorted(addrs),
        }
        for (transport, port), addrs in sorted(by_port.items())
    ]
    return app_rules, net_rules


def _bicep_value(v: Any, indent: int) -> str:
    pad = "  " * indent
    if isinstance(v, dict):
        inner = "\n".join(f"{pad}  {k}: {_bicep_value(x, indent + 1)}" for k, x in v.items())
        return "{\n" + inner + f"\n{pad}}}"
    if isinstance(v, list):
        inner = "\n".join(f"{pad}  {_bicep_value(x, indent + 1)}" for x in v)
        return "[\n" + inner + f"\n{pad}]"
    if isinstance(v, int):
        return str(v)
    return bicep_string(str(v))


# Bicep's string escapes (learn.microsoft.com/azure/azure-resource-manager/bicep/data-types#strings):
# \\ \' \n \r \t \$ (a literal ${ would start an interpolation).
_BICEP_QUOTE = str.maketrans({"\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t", "$": "\\$"})


def bicep_string(text: str) -> str:
    """A Bicep single-quoted string literal whose value is exactly ``text``."""
    return "'" + text.translate(_BICEP_QUOTE) + "'"


def export_bicep(dest: Destinations) -> str:
    app, net = _rules(dest)
    out = [
        "// Azure Firewall rules this capture justifies (egress-analyzer). Network rules with",
        "// destinationFqdns need the firewall's DNS proxy enabled.",
    ]
    if app:
        out.append("var applicationRules = " + _bicep_value(app, 0))
    if net:
        out.append("var networkRules = " + _bicep_value(net, 0))
    return "\n".join(out) + "\n"


def export_arm(dest: Destinations) -> str:
    app, net = _rules(dest)
    collections = []
    if app:
        collections.append(
            {
                "ruleCollectionType": "FirewallPolicyFilterRuleCollection",
                "name": "egress-application",
                "priority": 200,
                "action": {"type": "Allow"},
                "rules": app,
            }
        )
    if net:
        collections.append(
            {
                "ruleCollectionType": "FirewallPolicyFilterRuleCollection",
                "name": "egress-network",
                "priority": 100,
                "action": {"type": "Allow"},
                "rules": net,
            }
        )
    resource = {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "parameters": {"policyName": {"type": "string"}},
        "resources": [
            {
                "type": "Microsoft.Network/firewallPolicies/ruleCollectionGroups",
                "apiVersion": "2023-09-01",
                "name": "[concat(parameters('policyName'), '/egress-analyzer')]",
                "properties": {"priority": 300, "ruleCollections": collections},
            }
        ],
    }
    return json.dumps(resource, indent=2) + "\n"
