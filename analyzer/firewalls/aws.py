"""AWS Network Firewall: the domain-list dialect.

AWS Network Firewall domain lists (docs.aws.amazon.com/network-firewall/latest/APIReference/
API_RulesSourceList.html) follow squid's leading-dot rule: ``.example.com`` matches
``example.com`` and all its subdomains, ``example.com`` only itself; no ``*``.  There is no
reader: a domain list is read as a squid list or as plain text.
"""

from __future__ import annotations

from analyzer.allowlist.patterns import Dialect
from analyzer.firewalls.squid import leading_dot

DIALECTS = (Dialect("aws", leading_dot, leading_dot=True),)
