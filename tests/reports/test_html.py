"""The HTML report: self-contained, complete, inert with hostile names, and working in a real browser."""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import re
import tomllib
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from analyzer import pipeline
from analyzer.allowlist.readers import read_allowlist
from analyzer.api import Report, analyze
from fixtures.builders.packets import T0_NS, write_frames
from fixtures.builders.tls import Hello, records
from reports import html
from reports.jsondoc import document
from tests.support.paths import CAPTURES, HOSTILE, REPLAY, ROOT, SUNBEAM

ALLOWLIST = REPLAY / "sunbeam.allowlist.md"


def _analysis(capture: Path, allowlist: Path | None = None) -> Report:
    return analyze(capture, allowlist=read_allowlist(allowlist) if allowlist else None)


def _label(row: dict[str, Any]) -> str:
    return str(row["fqdn"] or ", ".join(row["addresses"]))


class _Collect(HTMLParser):
    VOID = frozenset(
        {"meta", "br", "img", "input", "hr", "link", "col", "wbr", "path", "rect", "line", "circle", "polyline"}
    )

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.text: list[str] = []
        self.refs: list[str] = []
        self.errors: list[str] = []
        self.attrs_seen: list[tuple[str, str | None]] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs_seen += attrs
        for k, v in attrs:
            if k in ("src", "href", "xlink:href", "action") and v is not None:
                self.refs.append(v)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs_seen += attrs

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            if tag in self.stack:
                while self.stack and self.stack.pop() != tag:
                    pass
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(page: str) -> _Collect:
    p = _Collect()
    p.feed(page)
    p.close()
    return p


@pytest.mark.parametrize("allowlist", [None, ALLOWLIST], ids=["no-allowlist", "allowlist"])
def test_page_is_complete_and_self_contained(allowlist: Path | None) -> None:
    a = _analysis(SUNBEAM, allowlist)
    page = html.render(a)
    parsed = _parse(page)
    assert not parsed.errors and not parsed.stack, (parsed.errors, parsed.stack)
    # Nothing is loaded from anywhere: only in-page anchors, no remote CSS imports or URLs.
    assert all(ref.startswith("#") for ref in parsed.refs), parsed.refs
    assert "@import" not in page and not re.search(r"url\(\s*['\"]?(?!data:|#)", page)
    assert not re.search(r"https?://", page)
    text = " ".join(parsed.text)
    doc = document(a)
    for row in doc["summary"]:
        if row["noise"] is None:
            assert _label(row) in text
    assert "Deny" in text
    if allowlist is not None:
        assert a.missing() and all(_label(m) in text for m in a.missing())
    # The timeline has one row per contacted name.
    rows = re.findall(r'<g class="tl-row" data-name="([^"]*)"', page)
    assert len(rows) == len(set(rows)) == len(html.timeline_rows(doc, lambda v: 0.0))


def test_hostile_names_are_inert() -> None:
    page = html.render(_analysis(HOSTILE))
    assert "<script>alert(" not in page
    assert page.count("<script") == 1  # the page's own script, nothing else
    parsed = _parse(page)
    assert not any(k.startswith("on") for k, _ in parsed.attrs_seen)  # no event-handler attribute anywhere
    assert "\u202e" not in page and "\x1b" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;.evil.example" in page


# Every element the report writes; a name that smuggled in any other tag would show up here.
PAGE_TAGS = frozenset(
    (  # noqa: SIM905 - a word list reads better than 43 quoted strings
        "html head meta title style body header div p h1 h2 h3 span dl dt dd strong nav a section ul li table "
        "caption thead tbody tr th td button br svg rect line text g figure figcaption details summary pre footer "
        "script"
    ).split()
)


# --------------------------------------------------------------------------------------------------
# Names that target HTML itself, in a capture built here with scapy: TLS SNI, HTTP Host, DNS qname.

SNI_TITLE = "</title><script>alert(2)</script>.x.example"
HOST_SVG = '"><svg/onload=alert(3)>.example'
HOST_STYLE = "</style><!--.example"
QNAME_IMG = "<img/src/onerror=alert(4)>.example"
SNI_BIDI = "rlo-\u202etxt.exe\x1b[31m.example".encode()  # not printable: the parser writes \DDD


def _client_hello(sni: bytes) -> bytes:
    """A minimal TLS 1.2 ClientHello record with one server_name (RFC 8446 4.1.2, RFC 6066 3)."""
    hello = Hello(sni=sni, alpn=(), versions=(), random=bytes(32), session_id=b"", ciphers=(0x1301,))
    return records(hello.message())


def _hostile_capture(path: Path) -> None:
    from scapy.layers.dns import DNS, DNSQR, DNSRR
    from scapy.layers.inet import IP, TCP, UDP
    from scapy.layers.l2 import Ether

    client, resolver = "10.0.0.5", "10.0.0.2"
    pkts: list[Any] = []

    def add(p: Any) -> None:
        pkts.append(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / p)

    def tcp(server: str, dport: int, sport: int, payload: bytes, reply: bytes | None, rst: bool = False) -> None:
        c, s = 1000, 5000
        add(IP(src=client, dst=server) / TCP(sport=sport, dport=dport, flags="S", seq=c))
        add(IP(src=server, dst=client) / TCP(sport=dport, dport=sport, flags="SA", seq=s, ack=c + 1))
        add(IP(src=client, dst=server) / TCP(sport=sport, dport=dport, flags="A", seq=c + 1, ack=s + 1))
        add(IP(src=client, dst=server) / TCP(sport=sport, dport=dport, flags="PA", seq=c + 1, ack=s + 1) / payload)
        c += 1 + len(payload)
        if rst:
            add(IP(src=server, dst=client) / TCP(sport=dport, dport=sport, flags="R", seq=s + 1))
            return
        assert reply is not None
        add(IP(src=server, dst=client) / TCP(sport=dport, dport=sport, flags="PA", seq=s + 1, ack=c) / reply)
        s += 1 + len(reply)
        add(IP(src=client, dst=server) / TCP(sport=sport, dport=dport, flags="FA", seq=c, ack=s))
        add(IP(src=server, dst=client) / TCP(sport=dport, dport=sport, flags="FA", seq=s, ack=c + 1))
        add(IP(src=client, dst=server) / TCP(sport=sport, dport=dport, flags="A", seq=c + 1, ack=s + 1))

    def http(host: str) -> bytes:
        return f"GET / HTTP/1.1\r\nHost: {host}\r\nUser-Agent: curl/8.5.0\r\n\r\n".encode()

    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
    tcp("192.0.2.11", 443, 40001, _client_hello(SNI_TITLE.encode()), None, rst=True)  # tls-interrupted
    tcp("192.0.2.12", 80, 40002, http(HOST_SVG), ok)
    tcp("192.0.2.13", 80, 40003, http(HOST_STYLE), ok)
    tcp("192.0.2.15", 443, 40005, _client_hello(SNI_BIDI), None, rst=True)
    qname = QNAME_IMG.encode() + b"."
    add(IP(src=client, dst=resolver) / UDP(sport=53001, dport=53) / DNS(id=7, rd=1, qd=DNSQR(qname=qname)))
    add(
        IP(src=resolver, dst=client)
        / UDP(sport=53, dport=53001)
        / DNS(id=7, qr=1, rd=1, ra=1, qd=DNSQR(qname=qname), an=DNSRR(rrname=qname, type="A", rdata="192.0.2.14"))
    )
    add(IP(src=client, dst="192.0.2.14") / TCP(sport=40004, dport=443, flags="S", seq=1))  # never answered
    write_frames(path, [bytes(p) for p in pkts], step_ns=10_000_000, t0_ns=T0_NS + 10_000_000)


@pytest.fixture(scope="module")
def scapy_hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("scapy")
    path = tmp_path_factory.mktemp("hostile") / "html-breakout.pcap"
    _hostile_capture(path)
    return path


def test_html_breakout_names_from_scapy_capture_are_shown_literally(scapy_hostile: Path) -> None:
    a = _analysis(scapy_hostile)
    names = {r["fqdn"] for r in document(a)["summary"]}
    assert {SNI_TITLE, HOST_SVG.lower(), HOST_STYLE, QNAME_IMG.lower()} <= names, names
    page = html.render(a)
    parsed = _parse(page)
    assert not parsed.errors and not parsed.stack, (parsed.errors, parsed.stack)
    # Only the tags the report writes itself: nothing a name could have opened.
    assert set(parsed.tags) <= PAGE_TAGS, set(parsed.tags) - PAGE_TAGS
    assert parsed.tags.count("script") == parsed.tags.count("style") == 1
    assert page.count("<script") == 1
    for raw in ("<svg/onload", "<img", "</title><script", "</style><!--", "alert(2)</script>"):
        assert raw not in page, raw
    assert not any(k.startswith("on") for k, _ in parsed.attrs_seen)
    assert "\u202e" not in page and "\x1b" not in page
    # ...and each one is on the page as literal text a person can read and copy.
    text = "".join(parsed.text)
    for name in (SNI_TITLE, HOST_SVG.lower(), HOST_STYLE, QNAME_IMG.lower()):
        assert name in text, name
    assert "Deny" in text  # the cut TLS connections are blocked rows


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("a\x1b[31mb", "a\\x1b[31mb"),
        ("rlo-\u202etxt", "rlo-\\u202etxt"),
        ("x\u2028y\u2029z", "x\\u2028y\\u2029z"),
        ("zw\u200bj\ufeff", "zw\\u200bj\\ufeff"),
        ("lone\ud800", "lone\\ud800"),
        ("tab\there\nnl\x7f\x85", "tab\\x09here\\x0anl\\x7f\\x85"),
        ('<b a="1">&\'', "&lt;b a=&quot;1&quot;&gt;&amp;&#x27;"),
        (None, ""),
    ],
)
def test_esc_makes_every_invisible_or_markup_character_visible_and_inert(raw: str | None, shown: str) -> None:
    out = html.esc(raw)
    assert out == shown
    out.encode("utf-8")  # no lone surrogate survives to break the file write


def test_csp_allows_exactly_the_page_own_style_and_script() -> None:
    page = html.render(_analysis(SUNBEAM))
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', page)
    assert csp, "no Content-Security-Policy"
    policy = csp.group(1)
    assert "default-src 'none'" in policy and "unsafe-inline" not in policy and "unsafe-eval" not in policy
    style = re.search(r"<style>(.*?)</style>", page, re.S)
    script = re.search(r"<script>(.*?)</script>", page, re.S)
    assert style and script
    for kind, body in (("style-src", style.group(1)), ("script-src", script.group(1))):
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"{kind} 'sha256-{digest}'" in policy, kind
    assert ' style="' not in page  # inline style attributes would be refused by the policy


def test_style_and_script_are_package_data_inlined_verbatim() -> None:
    # A wheel carries only the files pyproject.toml's package-data names: each one under reports/static must
    # match one of its globs, or an installed (non-editable) egress could not render a page (tests/test_packaging.py
    # builds the wheel itself and checks the files are in it).
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    assert "reports*" in setuptools["packages"]["find"]["include"]
    globs = setuptools["package-data"]["reports.static"]
    static = resources.files("reports") / "static"
    shipped = sorted(p.name for p in static.iterdir() if p.is_file())
    assert {"report.css", "report.js"} <= set(shipped)
    for name in shipped:
        assert any(fnmatch.fnmatchcase(name, g) for g in globs), name
    page = html.render(_analysis(SUNBEAM))
    for tag, name in (("style", "report.css"), ("script", "report.js")):
        inlined = re.search(rf"<{tag}>(.*?)</{tag}>", page, re.S)
        assert inlined and inlined.group(1) == "\n" + (static / name).read_text(encoding="utf-8"), name


def test_the_stylesheet_colours_each_verdict_chip_as_the_charts_do() -> None:
    # The chips take their colour from report.css, the SVG marks and bars from VERDICT_COLOURS: one legend.
    css = (resources.files("reports") / "static" / "report.css").read_text(encoding="utf-8")
    chips = dict(re.findall(r"\.v-([a-z-]+)\{background:(#[0-9a-f]{6})\}", css))
    assert chips == {**html.VERDICT_COLOURS, "other": html.OTHER_COLOUR}


@pytest.mark.parametrize("capture", ["nano.pcap", "truncated.pcap", "http-connect-proxy.pcap", "icmp-unreachable.pcap"])
def test_small_and_odd_captures_render_without_review(capture: str) -> None:
    a = pipeline.analyze(CAPTURES / capture)  # not reviewed: no noise, suggestions or diff
    page = html.render(a)
    parsed = _parse(page)
    assert not parsed.errors and not parsed.stack, (parsed.errors, parsed.stack)
    assert page.count('<g class="tl-row"') == len(html.timeline_rows(document(a), lambda v: 0.0))
    assert 'id="allowlist"' not in page


def test_real_browser_renders_sorts_and_logs_no_errors(browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    a = _analysis(SUNBEAM, ALLOWLIST)
    page = tmp_path / "report.html"
    page.write_text(html.render(a), encoding="utf-8")
    browser.get(page.as_uri())
    severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not severe, severe
    table = browser.find_element(By.ID, "summary-table")
    assert table.is_displayed()

    def count_column() -> list[int]:
        headers = [h.text.strip().lower() for h in table.find_elements(By.CSS_SELECTOR, "thead th")]
        idx = next(i for i, h in enumerate(headers) if h.startswith("count"))
        cells = table.find_elements(By.CSS_SELECTOR, f"tbody tr td:nth-child({idx + 1})")
        return [int(c.text.replace(",", "")) for c in cells]

    actions = [c.text for c in table.find_elements(By.CSS_SELECTOR, "tbody tr td:first-child")]
    assert actions[0] == "Deny" and actions == sorted(actions, key=lambda v: v != "Deny")  # Deny rows first
    names_before = [c.text for c in table.find_elements(By.CSS_SELECTOR, "tbody tr td:nth-child(3)")]
    before = count_column()
    header = next(
        h for h in table.find_elements(By.CSS_SELECTOR, "thead th") if h.text.strip().lower().startswith("count")
    )
    header.find_element(By.TAG_NAME, "button").click()
    first = count_column()
    header.find_element(By.TAG_NAME, "button").click()
    second = count_column()
    assert sorted(before) == sorted(first) == sorted(second)
    assert {tuple(first), tuple(second)} == {tuple(sorted(before)), tuple(sorted(before, reverse=True))}
    names_after = [c.text for c in table.find_elements(By.CSS_SELECTOR, "tbody tr td:nth-child(3)")]
    assert names_after != names_before and sorted(names_after) == sorted(names_before)
    assert header.get_attribute("aria-sort") in ("ascending", "descending")
    timeline = browser.find_element(By.ID, "timeline-svg")
    assert timeline.is_displayed() and timeline.size["width"] > 600 and timeline.size["height"] > 100
    rows = timeline.find_elements(By.CSS_SELECTOR, ".tl-row")
    assert len(rows) == len(html.timeline_rows(document(a), lambda v: 0.0)) and all(r.is_displayed() for r in rows)
    assert browser.find_element(By.ID, "chart-count").is_displayed()
    assert browser.find_element(By.ID, "chart-bytes").is_displayed()
    shot = tmp_path / "report.png"
    browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000


@pytest.mark.parametrize("which", ["fixture", "scapy"])
def test_real_browser_runs_no_injected_script(browser: Any, tmp_path: Path, which: str, request: Any) -> None:
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    capture = HOSTILE if which == "fixture" else request.getfixturevalue("scapy_hostile")
    page = tmp_path / "hostile.html"
    page.write_text(html.render(_analysis(capture)), encoding="utf-8")
    browser.get(page.as_uri())
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018 - reading it is what raises when there is no alert
    assert browser.title == html.page_title(capture.name)  # a </title> in a name did not end or change it
    assert not [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    # Hovering every name runs nothing either (an injected onmouseover would fire here).
    for cell in browser.find_elements(By.CSS_SELECTOR, "#summary-table tbody td:nth-child(3)")[:10]:
        ActionChains(browser).move_to_element(cell).perform()
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018
    assert browser.execute_script("return document.scripts.length") == 1
