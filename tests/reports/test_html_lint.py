"""`egress lint --format html`: a page of its own, self-contained, inert with hostile entries, sortable in Chromium."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from analyzer.api import lint, read_allowlist
from reports import html
from tests.support.cli import egress
from tests.support.paths import REPLAY

REQUEST = REPLAY / "sunbeam.allowlist.md"
HOSTILE = "<script>alert(1)</script>.example.com\n=cmd|'/c calc'!A0.example.com\n-n\n*evil.com\n" + "".join(
    f"good{i}.example.com\n*.example.com\n" for i in range(3)
)


def test_lint_page_lists_every_finding_and_loads_nothing(tmp_path: Path) -> None:
    out = tmp_path / "lint.html"
    proc = egress("lint", str(REQUEST), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    page = out.read_text()
    report = lint(read_allowlist(REQUEST))
    assert page.count('<tr><td class="name">') == len(report.lint) == 41
    assert "http://" not in page and "https://" not in page and "@import" not in page


def test_hostile_entries_are_inert(tmp_path: Path) -> None:
    rules = tmp_path / "rules.txt"
    rules.write_text(HOSTILE)
    report = lint(read_allowlist(rules, "text"))
    assert {f["problem"] for f in report.lint} >= {"invalid", "over-broad", "redundant"}
    page = html.render_lint(report)
    assert "<script>alert" not in page and "&lt;script&gt;" in page


def test_lint_page_in_chromium(browser: Any, tmp_path: Path) -> None:
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    rules = tmp_path / "rules.txt"
    rules.write_text(HOSTILE)
    page = tmp_path / "lint.html"
    page.write_text(html.render_lint(lint(read_allowlist(rules, "text"))), encoding="utf-8")
    browser.get(page.as_uri())
    assert not [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    table = browser.find_element(By.ID, "lint-table")
    problems = [td.text for td in table.find_elements(By.CSS_SELECTOR, "tbody td:nth-child(3)")]
    table.find_element(By.CSS_SELECTOR, 'th[data-key="problem"] button').click()
    after = [td.text for td in table.find_elements(By.CSS_SELECTOR, "tbody td:nth-child(3)")]
    assert after == sorted(problems) or after == sorted(problems, reverse=True)
    assert after != problems  # the findings come in file order, not sorted: the click did something
    try:
        alert = browser.switch_to.alert
    except NoAlertPresentException:
        alert = None
    assert alert is None, "a script from an allowlist entry ran"
