"""One module per firewall vendor: its allowlist reader(s), its wildcard dialect and its export
writer, side by side (what a capture justifies is decided once, in ``destinations``).  This
registry is how detection, ``--allowlist-format`` and ``--dialect`` find them; a new vendor adds
its module here."""

from __future__ import annotations

from analyzer.allowlist.document import Format
from analyzer.allowlist.patterns import Dialect
from analyzer.firewalls import aws, azure, calico, cilium, squid

# In the order the command line lists them.
DIALECTS: tuple[Dialect, ...] = (*azure.DIALECTS, *squid.DIALECTS, *aws.DIALECTS, *cilium.DIALECTS, *calico.DIALECTS)
FORMATS: tuple[Format, ...] = (*azure.FORMATS, *cilium.FORMATS, *squid.FORMATS)
