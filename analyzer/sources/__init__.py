"""Sources of observations other than a capture: firewall and proxy logs.

Every format is a :class:`LogFormat` in :data:`FORMATS`: a name (what ``--source-format`` takes), a
test on the first bytes of the file (decompressed when gzip'd), and a reader that yields
observations rows (schema ``OBSERVATIONS``) one at a time from the text, streamed line by line.
:func:`detect` tells a capture from a log by content, never by the file name; :func:`read_log`
builds the analysis of one log (:mod:`analyzer.sources.build`).

To add a format: a module with a reader ``(LogText, Tally) -> Iterator[row]`` and a detection
test, and an entry below (more specific tests first).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from analyzer.sources.text import GZIP_MAGIC, inflate_head

if TYPE_CHECKING:
    from analyzer.sources.records import Tally
    from analyzer.sources.text import LogText

Reader = Callable[["LogText", "Tally"], Iterator[dict[str, Any]]]

CAPTURE_MAGICS = (
    b"\xd4\xc3\xb2\xa1",
    b"\xa1\xb2\xc3\xd4",
    b"\x4d\x3c\xb2\xa1",
    b"\xa1\xb2\x3c\x4d",
    b"\x0a\x0d\x0d\x0a",
)


@dataclass(frozen=True, slots=True)
class LogFormat:
    name: str
    title: str
    detect: Callable[[str], bool]  # the decoded first bytes
    reader: str  # "module:function" under analyzer.sources, imported when a log of this format is read

    @property
    def read(self) -> Reader:
        # Imported on use: a capture's analysis (the usual run) never loads the log readers (12 ms).
        module, function = self.reader.split(":")
        found: Reader = getattr(importlib.import_module(f"analyzer.sources.{module}"), function)
        return found


def _json_head(head: str) -> bool:
    return head.lstrip().startswith(("{", "["))


def _is_nfw(head: str) -> bool:
    return _json_head(head) and '"firewall_name"' in head and '"event"' in head


def _is_route53(head: str) -> bool:
    return _json_head(head) and '"query_name"' in head and ('"srcaddr"' in head or '"query_timestamp"' in head)


_AZURE_MARKS = re.compile(r'"(?:AZFW\w+|AzureFirewall\w+|msg_s|SourceIp|sourceIp|Fqdn|QueryName)"|"msg"\s*:\s*"', re.I)


def _is_azure_json(head: str) -> bool:
    return _json_head(head) and bool(_AZURE_MARKS.search(head))


def _first_line(head: str) -> str:
    for line in head.splitlines():
        if line.strip():
            return line.strip().removeprefix("\ufeff")
    return ""


def _is_azure_csv(head: str) -> bool:
    names = {n.strip().strip('"').removesuffix(" [UTC]").lower() for n in _first_line(head).split(",")}
    return "timegenerated" in names and bool(names & {"sourceip", "msg_s", "queryname", "fqdn", "type"})


def _mostly(head: str, test: Callable[[str], bool]) -> bool:
    """A line format: a third of the first lines fit it (a log may start with a bad or cut line)."""
    lines = [line.strip() for line in head.splitlines()[:-1] or head.splitlines() if line.strip()][:50]
    fits = sum(1 for line in lines if test(line))
    return fits > 0 and fits * 3 >= len(lines)


def _is_azure_msg(head: str) -> bool:
    from analyzer.sources.azure_msg import _DNS, _REQUEST

    return _mostly(head, lambda line: bool(_REQUEST.match(line) or _DNS.match(line)))


def _is_squid(head: str) -> bool:
    from analyzer.sources import squid

    return _mostly(head, squid.detect)


FORMATS: dict[str, LogFormat] = {
    f.name: f
    for f in (
        LogFormat("aws-network-firewall", "AWS Network Firewall alert/flow log (EVE JSON)", _is_nfw, "aws:read_nfw"),
        LogFormat("route53-resolver", "Route 53 Resolver query log", _is_route53, "aws:read_route53"),
        LogFormat("azure-firewall-json", "Azure Firewall log, JSON (export or diagnostic setting)", _is_azure_json,
                  "azure:read_json"),
        LogFormat("azure-firewall-csv", "Azure Firewall log, Log Analytics CSV export", _is_azure_csv,
                  "azure:read_csv"),
        LogFormat("azure-firewall-msg", "Azure Firewall AzureDiagnostics msg_s lines", _is_azure_msg,
                  "azure:read_msg_lines"),
        LogFormat("squid", "squid access.log (native, common, combined)", _is_squid, "squid:read"),
    )
}  # fmt: skip
SOURCE_FORMATS = ("capture", *FORMATS)


def head_text(raw: bytes) -> tuple[str, bool]:
    """The first bytes as text (inflated when gzip'd) and whether they were gzip'd."""
    compressed = raw[:2] == GZIP_MAGIC
    data = inflate_head(raw) if compressed else raw
    return data.decode("utf-8", errors="replace"), compressed


def is_capture(raw: bytes) -> bool:
    data = inflate_head(raw) if raw[:2] == GZIP_MAGIC else raw
    return data[:4] in CAPTURE_MAGICS


def detect(raw: bytes) -> str | None:
    """``capture``, a log format's name, or None: what the first bytes of a file are."""
    if is_capture(raw):
        return "capture"
    text, _ = head_text(raw)
    if "\x00" in text[:4096]:
        return None  # binary: no log of ours
    for fmt in FORMATS.values():
        if fmt.detect(text):
            return fmt.name
    return None


def describe() -> str:
    return ", ".join(FORMATS)


__all__ = ["FORMATS", "SOURCE_FORMATS", "LogFormat", "describe", "detect", "head_text", "is_capture"]
