"""The HTML report: self-contained, complete, inert with hostile names, and working in a real browser."""

from __future__ import annotations

import re
import shutil
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from analyzer.allowlist.readers import read_allowlist
from analyzer.pipeline import Analysis, analyze
from analyzer.review import ReviewOptions, review
from reports import html
from reports.jsondoc import document

ROOT = Path(__file__).resolve().parents[2]
SUNBEAM = ROOT / "fixtures" / "captures" / "sunbeam-install.pcap"
HOSTILE = ROOT / "fixtures" / "captures" / "hostile-names.pcap"
ALLOWLIST = ROOT / "fixtures" / "replay" / "sunbeam.allowlist.md"


def _analysis(capture: Path, allowlist: Path | None = None) -> Analysis:
    a = analyze(capture)
    al = read_allowlist(allowlist) if allowlist else None
    review(a, ReviewOptions(allowlist=al, allowlist_files=[str(allowlist)] if allowlist else []))
    return a


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

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.attrs_seen += attrs
        for k, v in attrs:
            if k in ("src", "href", "xlink:href", "action") and v is not None:
                self.refs.append(v)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
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
    for i, row in enumerate(doc["summary"]):
        if i not in a.noise_rows:
            assert (row["fqdn"] or row["address"]) in text
    assert "Deny" in text
    if allowlist is not None:
        assert doc["diff"]["missing"] and all((m["fqdn"] or m["address"]) in text for m in doc["diff"]["missing"])
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


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def browser() -> Any:
    webdriver = pytest.importorskip("selenium.webdriver")
    if not (Path(CHROMIUM).exists() and Path(DRIVER).exists()):
        pytest.skip("chromium / chromedriver not installed (.ci/browser-deps installs them)")
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="egress-chromium-")
    opts = Options()
    opts.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1360,1000",
        f"--user-data-dir={profile}",
    ):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def test_real_browser_renders_sorts_and_logs_no_errors(browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    page = tmp_path / "report.html"
    page.write_text(html.render(_analysis(SUNBEAM, ALLOWLIST)), encoding="utf-8")
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
    svg = browser.find_element(By.CSS_SELECTOR, "svg .tl-row")
    assert svg.is_displayed()
    shot = tmp_path / "report.png"
    browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000


def test_real_browser_runs_no_injected_script(browser: Any, tmp_path: Path) -> None:
    from selenium.common.exceptions import NoAlertPresentException

    page = tmp_path / "hostile.html"
    page.write_text(html.render(_analysis(HOSTILE)), encoding="utf-8")
    browser.get(page.as_uri())
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018 - reading it is what raises when there is no alert
    assert browser.title.startswith("Egress report")
    assert not [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
