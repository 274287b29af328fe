"""squid access.log: native, CONNECT, TCP_DENIED/403 and /407, common and combined.

Formats from squid's logformat documentation (http://www.squid-cache.org/Doc/config/logformat/,
https://wiki.squid-cache.org/Features/LogFormat): native
``%ts.%03tu %6tr %>a %Ss/%03>Hs %<st %rm %ru %[un %Sh/%<a %mt``, common
``%>a %[ui %[un [%tl] "%rm %ru HTTP/%rv" %>Hs %<st %Ss:%Sh``, combined (adds Referer and User-Agent).
"""

from __future__ import annotations

from pathlib import Path

from analyzer.api import analyze
from analyzer.sources import detect

NATIVE = [
    "1718000000.123    412 10.0.0.5 TCP_TUNNEL/200 5123 CONNECT mcr.microsoft.com:443 - HIER_DIRECT/203.0.113.5 -",
    "1718000001.000      0 10.0.0.5 TCP_DENIED/403 3922 CONNECT packages.microsoft.com:443 - HIER_NONE/- text/html",
    "1718000002.000      0 10.0.0.5 TCP_DENIED/407 3922 CONNECT esm.ubuntu.com:443 - HIER_NONE/- text/html",
    "1718000003.500     80 10.0.0.5 TCP_MISS/200 1200 GET http://azure.archive.ubuntu.com/ubuntu/dists/jammy/InRelease"
    " - HIER_DIRECT/198.51.100.98 text/plain",
    "1718000004.000      0 10.0.0.5 TCP_DENIED/403 3900 GET http://motd.ubuntu.com:8080/ - HIER_NONE/- text/html",
    "1718000005.000   3000 10.0.0.5 TCP_MISS/503 0 CONNECT unreachable.example:443 - HIER_NONE/- -",
]
COMMON = [
    '10.0.0.5 - - [10/Jun/2024:06:13:20 +0000] "CONNECT mcr.microsoft.com:443 HTTP/1.1" 200 5123 '
    "TCP_TUNNEL:HIER_DIRECT",
    '10.0.0.5 - - [10/Jun/2024:06:13:21 +0000] "CONNECT packages.microsoft.com:443 HTTP/1.1" 403 3922 '
    "TCP_DENIED:HIER_NONE",
]
COMBINED = [
    '10.0.0.5 - alice [10/Jun/2024:08:13:22 +0200] "GET http://azure.archive.ubuntu.com/x HTTP/1.1" 200 1200 "-" '
    '"apt/2.4" TCP_MISS:HIER_DIRECT',
]


def test_native(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    path.write_text("\n".join(NATIVE) + "\n")
    assert detect(path.read_bytes()) == "squid"
    report = analyze(path)
    rows = {(r["fqdn"], r["port"]): r for r in report.summary}
    mcr = rows[("mcr.microsoft.com", 443)]
    assert (mcr["protocol"], mcr["verdict"], mcr["source"], mcr["action"]) == ("HTTP-CONNECT", "ok", "connect", "Allow")
    assert rows[("packages.microsoft.com", 443)]["verdict"] == "proxy-denied"
    assert rows[("esm.ubuntu.com", 443)]["action"] == "Deny"
    assert rows[("azure.archive.ubuntu.com", 80)]["protocol"] == "HTTP"
    assert rows[("motd.ubuntu.com", 8080)]["verdict"] == "proxy-denied"
    assert rows[("unreachable.example", 443)]["verdict"] == "unreachable"
    said = {o["fqdn"]: o for o in report.observations}
    assert said["esm.ubuntu.com"]["verdict_reason"] == "TCP_DENIED/407"
    assert said["packages.microsoft.com"]["rule"] == "http_access"
    assert said["mcr.microsoft.com"]["first_seen"] == 1718000000123000000


def test_common_and_combined(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    path.write_text("\n".join(COMMON + COMBINED) + "\n")
    report = analyze(path)
    got = sorted((r["protocol"], r["port"], r["fqdn"], r["verdict"]) for r in report.summary)
    assert got == [
        ("HTTP", 80, "azure.archive.ubuntu.com", "ok"),
        ("HTTP-CONNECT", 443, "mcr.microsoft.com", "ok"),
        ("HTTP-CONNECT", 443, "packages.microsoft.com", "proxy-denied"),
    ]
    (archive,) = [o for o in report.observations if o["fqdn"] == "azure.archive.ubuntu.com"]
    assert archive["first_seen"] == 1718000002 * 1_000_000_000  # 08:13:22 +0200 is 06:13:22 UTC
