"""Uploads with ``profile=`` on a server with ``--history``: the drift against the profile's nightly baseline,
through the API and in the page (a real chromium), from a history built by the nightly test helpers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.frontends.web.conftest import Server, Watched, wait_done
from tests.support import nights
from tests.support.paths import HOSTILE


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return nights.host_b_history(tmp_path_factory.mktemp("nights"))


@pytest.fixture(scope="module")
def drift_server(tmp_path_factory: pytest.TempPathFactory, history: Path) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("serve-drift"), "--workers", "1", "--history", str(history))
    yield srv
    srv.stop()


def _analysed(server: Server, path: Path, **query: str) -> dict[str, Any]:
    with server.client() as c:
        r = c.post("/api/v1/captures", params={"name": path.name, **query}, content=path.read_bytes())
        assert r.status_code in (200, 202), r.text
        state = wait_done(c, r.json()["status_url"])
    assert state["status"] == "done", state
    return state


def test_an_upload_with_a_profile_shows_what_changed_against_its_nights(
    drift_server: Server, history: Path, tmp_path: Path
) -> None:
    stored = sorted((p, p.stat().st_mtime_ns) for p in history.rglob("*") if p.is_file() and "lock" not in p.name)
    night2 = nights.host_b_capture(nights.NIGHT2, tmp_path)
    state = _analysed(drift_server, night2, profile="sunbeam")
    drift = state["drift"]
    assert state["drift_error"] is None
    assert (drift["profile"], drift["baseline"], drift["baseline_state"]) == ("sunbeam", [nights.NIGHT1], "learning")
    assert [(i["class"], i["name"]) for i in drift["items"]] == nights.EXPECTED
    blocked = drift["items"][0]
    assert (blocked["verdict"], blocked["previous_verdict"], blocked["ports"]) == ("tls-interrupted", "ok", ["TCP/443"])
    # The uploads are compared with the history, never written into it.
    assert sorted((p, p.stat().st_mtime_ns) for p in history.rglob("*") if p.is_file() and "lock" not in p.name) == (
        stored
    )
    # The same capture with night 1's own content: nothing changed.
    same = _analysed(drift_server, nights.host_b_capture(nights.NIGHT1, tmp_path / "n1"), profile="sunbeam")
    assert same["drift"]["items"] == []
    # No profile: no drift; a profile the history lacks: no drift, and the line says why.
    assert _analysed(drift_server, night2, profile="")["drift"] is None
    other = _analysed(drift_server, night2, profile="other")
    assert other["drift"] is None and "no night stored for profile 'other'" in other["drift_error"]


def test_the_page_shows_the_drift_above_the_report(drift_server: Server, watched: Watched, tmp_path: Path) -> None:
    page = watched.page
    watched.sign_in(drift_server)
    page.fill("#profile", "sunbeam")
    capture = nights.host_b_capture(nights.NIGHT2, tmp_path)
    page.set_input_files("#file", {"name": "night2.pcap", "mimeType": "application/octet-stream",
                                   "buffer": capture.read_bytes()})  # fmt: skip
    page.wait_for_selector("#drift", state="visible", timeout=90_000)
    assert page.text_content("#drift-title") == "Against the nightly baseline of sunbeam (1 night, learning)"
    cells = [
        [td.text_content() for td in tr.query_selector_all("td")] for tr in page.query_selector_all("#drift-rows tr")
    ]
    assert [(c[0], c[1]) for c in cells] == nights.EXPECTED
    assert cells[0][3:5] == ["tls-interrupted", "ok"]
    # Above the report: the drift box comes before the framed report in the page.
    above = page.evaluate(
        "document.getElementById('drift').compareDocumentPosition(document.getElementById('report')) & 4"
    )
    assert above == 4
    page.frame_locator("#report").locator(f"text={nights.ADDED}").first.wait_for(timeout=30_000)
    page.screenshot(path=str(tmp_path / "drift.png"))
    assert watched.errors == [] and watched.dialogs == []


def test_hostile_names_in_the_drift_are_text(drift_server: Server, watched: Watched) -> None:
    page = watched.page
    watched.sign_in(drift_server)
    page.fill("#profile", "sunbeam")
    page.set_input_files("#file", {"name": "hostile.pcap", "mimeType": "application/octet-stream",
                                   "buffer": HOSTILE.read_bytes()})  # fmt: skip
    page.wait_for_selector("#drift", state="visible", timeout=90_000)
    names = [td.text_content() for td in page.query_selector_all("#drift-rows td.name")]
    assert "<script>alert(1)</script>.evil.example" in names
    assert page.locator("#drift img, #drift script").count() == 0
    page.wait_for_timeout(300)
    assert watched.dialogs == [] and watched.errors == []
