"""The allowlist a capture justifies, written in each firewall's own syntax, ports included.

Noise is excluded.  Names stay exact: a wildcard is a decision for a person (the suggestion
notes say where one would fit), never something an export invents.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from typing import Any

from analyzer.protocols import transport_of
from analyzer.report import Report

TARGETS = ("request-md", "azure-bicep", "azure-arm", "cilium", "squid", "aws-domain-list", "text")


# A host name a firewall accepts: letter-digit-hyphen labels (underscore too: service names use it), no label
# starting or ending with a hyphen, 63 octets a label, 253 in all, two labels at least, and a last label
# that is not all digits (that would be a broken IPv4 address).  Packets can carry anything: "-n" taken
# from an SNI would be read by squid as a flag.
_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")


def is_dns_name(name: str) -> bool:
    labels = name.split(".")
    return (
        len(name) <= 253
        and len(labels) >= 2
        and all(_LABEL.match(label) for label in labels)
        and not labels[-1].isdigit()
    )


def _observed(report: Report) -> tuple[list[tuple[str, str, str, int]], list[tuple[str, str, int]]]:
    """(name, protocol, transport, port) for named egress; (address, transport, port) for the rest.

    A name that is not a valid DNS name never reaches a firewall config (:func:`notes` says so).
    """
    names: set[tuple[str, str, str, int]] = set()
    addresses: set[tuple[str, str, int]] = set()
    for r in report.egress():
        transport = transport_of(r["protocol"])
        if r["fqdn"]:
            if is_dns_name(r["fqdn"]):
                names.add((r["fqdn"], r["protocol"], transport, r["port"]))
        else:
            for a in r["addresses"]:
                addresses.add((a, transport, r["port"]))
    return sorted(names), sorted(addresses)


def notes(report: Report, target: str) -> list[str]:
    """Every destination the capture justifies that the export leaves out or writes with a caveat, and why.

    Comment-capable formats carry these as comments; the CLI also says them on stderr (JSON has no comments).
    """
    out: list[str] = []
    invalid: dict[str, int] = {}
    for r in report.egress():
        where = f"{transport_of(r['protocol'])}/{r['port']}"
        if r["fqdn"] and not is_dns_name(r["fqdn"]):
            # Counted, never quoted: the name is whatever a packet carried, and this text lands in configs.
            invalid[where] = invalid.get(where, 0) + 1
            continue
        if r["verdict"] == "proxy-denied":
            via = ", ".join(r["vias"]) or "a proxy"
            out.append(
                f"{r['fqdn'] or ', '.join(r['addresses'])} {where} was refused by the proxy at {via}: "
                "the rule belongs on the proxy as well"
            )
    for where, n in invalid.items():
        out.append(
            f"not exported: {n} name(s) on {where} that are not valid DNS names (the analysis report lists them)"
        )
    names, addresses = _observed(report)
    if target == "squid":
        out += [f"not proxied by squid, needs a firewall rule: {n} {t}/{p}" for n, _, t, p in names if t != "TCP"]
        out += [f"not proxied by squid, needs a firewall rule: {a} {t}/{p}" for a, t, p in addresses if t != "TCP"]
    elif target == "aws-domain-list":
        out += [
            f"not in a domain list (TLS SNI and HTTP Host only), needs a stateful rule: {n} {t}/{p}"
            for n, protocol, t, p in names
            if _app_protocol(protocol, p) is None
        ]
        out += [f"needs a network rule for the address: {a} {t}/{p}" for a, t, p in addresses]
    return sorted(set(out), key=out.index)


def _app_protocol(protocol: str, port: int) -> str | None:
    """Azure application rules speak Http/Https only; everything else needs a network rule.

    A TCP connection to 443 or 80 whose first bytes we never saw (blocked before the ClientHello
    or request) is taken to be HTTPS or HTTP: that is what the client would have sent.
    """
    if protocol in ("TLS", "HTTP-CONNECT") or (protocol == "TCP" and port == 443):
        return "Https"
    if protocol == "HTTP" or (protocol == "TCP" and port == 80):
        return "Http"
    return None


def _azure_rules(report: Report) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    names, addresses = _observed(report)
    app: dict[tuple[str, int], set[str]] = defaultdict(set)
    net: dict[tuple[str, int], set[str]] = defaultdict(set)
    for name, protocol, transport, port in names:
        kind = _app_protocol(protocol, port)
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
    return "'" + str(v).replace("\\", "\\\\").replace("'", "\\'") + "'"


def azure_bicep(report: Report) -> str:
    app, net = _azure_rules(report)
    out = [
        "// Azure Firewall rules this capture justifies (egress-analyzer). Network rules with",
        "// destinationFqdns need the firewall's DNS proxy enabled.",
    ]
    if app:
        out.append("var applicationRules = " + _bicep_value(app, 0))
    if net:
        out.append("var networkRules = " + _bicep_value(net, 0))
    return "\n".join(out) + "\n"


def azure_arm(report: Report) -> str:
    app, net = _azure_rules(report)
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


def _yaml_str(s: str) -> str:
    return json.dumps(s)  # a JSON string is a valid YAML double-quoted scalar


def cilium(report: Report) -> str:
    names, addresses = _observed(report)
    by_ports: dict[tuple[tuple[int, str], ...], set[str]] = defaultdict(set)
    ports_of: dict[str, set[tuple[int, str]]] = defaultdict(set)
    for name, _protocol, transport, port in names:
        ports_of[name].add((port, transport))
    for name, ports in ports_of.items():
        by_ports[tuple(sorted(ports))].add(name)
    lines = [
        "# CiliumNetworkPolicy this capture justifies (egress-analyzer). toFQDNs needs the DNS rule below:",
        "# Cilium learns the addresses from the DNS answers it proxies.",
        "apiVersion: cilium.io/v2",
        "kind: CiliumNetworkPolicy",
        "metadata:",
        "  name: install-egress",
        "spec:",
        "  endpointSelector: {}",
        "  egress:",
        "    - toEndpoints:",
        "        - matchLabels:",
        '            "k8s:io.kubernetes.pod.namespace": kube-system',
        "            k8s-app: kube-dns",
        "      toPorts:",
        "        - ports:",
        '            - port: "53"',
        "              protocol: ANY",
        "          rules:",
        "            dns:",
        '              - matchPattern: "*"',
    ]
    for port_list, group in sorted(by_ports.items()):
        lines.append("    - toFQDNs:")
        lines += [f"        - matchName: {_yaml_str(n)}" for n in sorted(group)]
        lines += ["      toPorts:", "        - ports:"]
        for port, transport in port_list:
            lines += [f'            - port: "{port}"', f"              protocol: {transport}"]
    by_addr: dict[tuple[int, str], set[str]] = defaultdict(set)
    for address, transport, port in addresses:
        by_addr[(port, transport)].add(address)
    for (port, transport), addrs in sorted(by_addr.items()):
        lines.append("    - toCIDR:")
        lines += [f"        - {_yaml_str(a + ('/32' if ':' not in a else '/128'))}" for a in sorted(addrs)]
        lines += [
            "      toPorts:",
            "        - ports:",
            f'            - port: "{port}"',
            f"              protocol: {transport}",
        ]
    return "\n".join(lines) + "\n"


def squid(report: Report) -> str:
    names, addresses = _observed(report)
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


def aws_domain_list(report: Report) -> str:
    names, _ = _observed(report)
    https = sorted({n for n, p, _, port in names if _app_protocol(p, port) == "Https"})
    http = sorted({n for n, p, _, port in names if _app_protocol(p, port) == "Http"})
    doc = {
        "RulesSourceList": {
            "GeneratedRulesType": "ALLOWLIST",
            "Targets": sorted(set(https) | set(http)),
            "TargetTypes": [t for t, ok in (("TLS_SNI", https), ("HTTP_HOST", http)) if ok],
        }
    }
    return json.dumps(doc, indent=2) + "\n"


def text(report: Report) -> str:
    names, addresses = _observed(report)
    lines = ["# name protocol/port  (egress-analyzer)"]
    lines += sorted({f"{n} {t.lower()}/{p}" for n, _, t, p in names})
    lines += sorted({f"{a} {t.lower()}/{p}" for a, t, p in addresses})
    return "\n".join(lines) + "\n"


def request_md(report: Report) -> str:
    from reports.markdown import change_request

    names, addresses = _observed(report)
    body = change_request([(n, t, p) for n, _, t, p in names] + addresses)
    intro = "Allow egress to the destinations below: what the captured install contacted (egress-analyzer)."
    head = ["## Requested Policy Change", "", intro, "", "## Key points about the firewall rule", ""]
    return "\n".join([*head, *body]).rstrip() + "\n"


RENDERERS = {
    "request-md": request_md,
    "azure-bicep": azure_bicep,
    "azure-arm": azure_arm,
    "cilium": cilium,
    "squid": squid,
    "aws-domain-list": aws_domain_list,
    "text": text,
}


# How each format writes a comment line; JSON formats have none (the CLI says the notes on stderr).
COMMENTS = {"request-md": "", "azure-bicep": "// ", "cilium": "# ", "squid": "# ", "text": "# "}


def render(report: Report, target: str) -> str:
    text = RENDERERS[target](report)
    prefix = COMMENTS.get(target)
    found = notes(report, target)
    if prefix is None or not found:
        return text
    if target == "request-md":
        return text + "\n## Not in this request\n\n" + "\n\n".join(found) + "\n"
    return text + "".join(f"{prefix}{n}\n" for n in found)
