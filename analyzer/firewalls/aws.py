"""AWS Network Firewall: the domain-list dialect.

AWS Network Firewall domain lists (docs.aws.amazon.com/network-firewall/latest/APIReference/
API_RulesSourceList.html) follow squid's leading-dot rule: ``.example.com`` matches
``example.com`` and all its subdomains, ``example.com`` only itself; no ``*``.  There is no
reader: a domain list is read as a squid list or as plain text.
"""

from __future__ import annotations

import json

from analyzer.allowlist.patterns import Dialect
from analyzer.firewalls.destinations import Destinations, app_protocol
from analyzer.firewalls.squid import leading_dot

DIALECTS = (Dialect("aws", leading_dot, leading_dot=True),)


def export_domain_list(dest: Destinations) -> str:
    names = dest.names
    https = sorted({n for n, p, _, port in names if app_protocol(p, port) == "Https"})
    http = sorted({n for n, p, _, port in names if app_protocol(p, port) == "Http"})
    doc = {
        "RulesSourceList": {
            "GeneratedRulesType": "ALLOWLIST",
            "Targets": sorted(set(https) | set(http)),
            "TargetTypes": [t for t, ok in (("TLS_SNI", https), ("HTTP_HOST", http)) if ok],
        }
    }
    return json.dumps(doc, indent=2) + "\n"
