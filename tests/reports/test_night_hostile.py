"""Hostile names stay inert in every format of the morning report.

Night 2 is the hostile-names capture (names from packets: ``<script>``, a spreadsheet formula, a
Markdown ``|``, escape sequences as text) stored under a folder whose name a CI job chose: it
carries a raw ESC, a ``<b>`` tag, a ``|`` and ``=cmd``.  Every name is a drift item (new)."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from analyzer.api import NightReport, analyze, drift, nightly
from reports.night import html, jsondoc, junit, markdown, table
from tests.support import nights
from tests.support.paths import HOSTILE

FOLDER = "=cmd|<b>job\x1b[2J-n"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> NightReport:
    root = tmp_path_factory.mktemp("hostile")
    history = root / "history"
    nightly([nights.host_b(nights.NIGHT1, root / "n1" / "out.pcap")], history=history, night=nights.NIGHT1,
            profile="lab")  # fmt: skip
    (root / "n2" / FOLDER).mkdir(parents=True)
    shutil.copy(HOSTILE, root / "n2" / FOLDER / "out.pcap")
    shutil.copy(HOSTILE, root / "n2" / "copy.pcap")  # a second path: the captures list holds the hostile name
    nightly([root / "n2"], history=history, night=nights.NIGHT2, profile="lab")
    return drift(history)


def _hostile_names() -> list[str]:
    return [r["fqdn"] for r in analyze(HOSTILE).summary.rows if r["fqdn"]]


def test_every_hostile_name_is_an_item(report: NightReport) -> None:
    new = sorted(r["name"] for r in report.drift if r["class"] == "new")
    assert new == sorted(_hostile_names())
    assert any(FOLDER in c for r in report.drift for c in r["captures"])


def test_json_keeps_the_names_exactly(report: NightReport) -> None:
    doc = json.loads(jsondoc.render(report, ("new",)))
    assert sorted(d["name"] for d in doc["drift"] if d["class"] == "new") == sorted(_hostile_names())
    assert "\x1b" not in json.dumps(doc, ensure_ascii=False).replace("\\u001b", "")  # JSON escapes it


def test_html_is_inert(report: NightReport) -> None:
    page = html.render(report, ("new",))
    assert "<script>alert" not in page and "<b>job" not in page and "\x1b" not in page
    assert page.count("<script>") == 1  # our own, allowed by hash
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    rows = nights.html_table(page, "drift-table")
    assert sorted(r[2] for r in rows if r[1] == "new") == sorted(_hostile_names())
    assert any("\\x1b[2J" in r[4] for r in rows)  # the ESC shows as text


def test_markdown_is_inert(report: NightReport) -> None:
    text = markdown.render(report, ("new",))
    assert "\x1b" not in text and "<script>" not in text and "<b>" not in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith(("| gate", "| ---"))]
    assert len(rows) == len(report.drift)
    for row in rows:  # an unescaped | would add a column
        assert len(row.replace("\\|", "").split("|")) == 7, row


def test_junit_is_well_formed_and_inert(report: NightReport) -> None:
    text = junit.render(report, ("new",))
    assert "\x1b" not in text
    suite = ET.fromstring(text.split("\n", 1)[1])
    names = sorted(c.get("name") or "" for c in suite.findall("testcase") if c.get("classname") == "egress.drift.new")
    assert names == sorted(_hostile_names())
    assert int(suite.get("failures") or 0) == len(_hostile_names())


def test_terminal_is_inert(report: NightReport) -> None:
    console = Console(record=True, width=250, force_terminal=False)
    table.render(report, console, ("new",))
    out = console.export_text()
    assert "\x1b" not in out and "<script>alert(1)</script>.evil.example" in out


def test_html_in_chromium_runs_nothing_and_draws_timeline(report: NightReport, browser: Any, tmp_path: Path) -> None:
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    page = tmp_path / "drift.html"
    page.write_text(html.render(report, ("new",)), encoding="utf-8")
    browser.get(page.as_uri())
    assert not [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]  # no CSP violation either
    shown = [td.text for td in browser.find_elements(By.CSS_SELECTOR, "#drift-table tbody td:nth-child(3)")]
    assert sorted(n for n in shown if n in _hostile_names()) == sorted(_hostile_names())
    squares = browser.find_elements(By.CSS_SELECTOR, "#timeline svg rect")
    assert len(squares) == 2 * len({r["name"] for r in report.timeline})  # two nights per name
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018 - reading it is what raises when there is no alert
