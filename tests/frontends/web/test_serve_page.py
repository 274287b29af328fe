"""The upload page in a real browser: Playwright for Python driving Debian's chromium (never a downloaded one)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from fixtures.builders.packets import established, write_frames
from tests.frontends.web.conftest import ALLOWLIST, Server, Watched, copy_capture
from tests.frontends.web.test_serve_api import cli
from tests.support.paths import CAPTURES, HOSTILE, ROOT, SUNBEAM

SCREENSHOT = ROOT / "docs" / "upload-page.png"
REGENERATE = "EGRESS_REGEN_SCREENSHOT"  # =1 rewrites docs/upload-page.png (the README's picture)
HOSTILE_FILE_NAME = '<img src=x onerror=alert(1)>"; -n \x1b[31m.pcap'


def test_upload_through_the_page(server: Server, watched: Watched, tmp_path: Path) -> None:
    page = watched.page
    watched.sign_in(server)
    assert page.input_value("#allowlist") == "sunbeam"  # the server's one allowlist, chosen
    local = copy_capture(SUNBEAM, server.root, "out.pcap")
    watched.upload(str(local))
    assert page.get_attribute("#upload-progress", "value") == "1"
    assert page.get_attribute("#analysis-progress", "value") == "1"
    assert page.text_content("#result-title") == "out.pcap: 394 packets, 14 destinations, 4 blocked"
    assert page.is_hidden("#diagnosis")
    report = page.frame_locator("#report")
    report.locator("text=Allowed yet blocked").first.wait_for(timeout=30_000)
    assert page.get_attribute("#report", "sandbox") == "allow-scripts allow-popups"
    with page.expect_download() as download:
        page.click("#report-links a:text-is('md')")
    saved = tmp_path / "report.md"
    download.value.save_as(saved)
    assert saved.read_text() == cli(server.root, "analyze", local.name, "-a", str(ALLOWLIST), "--format", "md")
    with page.expect_download() as download:
        page.click("#export-links a:text-is('azure-bicep')")
    assert Path(download.value.path()).read_text() == cli(server.root, "export", local.name, "--to", "azure-bicep")
    # The history list reloads after the result shows: wait for it rather than read it mid-refresh.
    expect(page.locator("#history-rows tr", has_text="out.pcap")).to_have_count(1)
    page.screenshot(path=str(tmp_path / "upload-page.png"))
    if os.environ.get(REGENERATE) == "1":
        SCREENSHOT.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOT))
    # The token stays for this tab: a reload goes straight to the page.
    page.reload()
    page.wait_for_selector("#app", state="visible")
    page.click("#history-rows tr:has-text('out.pcap') button")
    report.locator("text=Allowed yet blocked").first.wait_for(timeout=30_000)
    assert watched.errors == [] and watched.dialogs == []


def test_a_wrong_token_is_asked_again(server: Server, watched: Watched) -> None:
    page = watched.page
    page.goto(server.url + "/")
    page.fill("#token", "not-a-token-of-this-server")
    page.click("#login-form button")
    page.wait_for_selector("#login-error:has-text('not accepted')")
    assert page.is_hidden("#app")
    assert page.evaluate("sessionStorage.getItem('egress-token')") is None


def test_hostile_names_are_inert_in_the_page(server: Server, watched: Watched) -> None:
    page = watched.page
    watched.sign_in(server)
    page.select_option("#allowlist", "")
    watched.upload({"name": HOSTILE_FILE_NAME, "mimeType": "application/octet-stream", "buffer": HOSTILE.read_bytes()})
    # Newest first; the list reloads after the result shows, so wait (an earlier test's row is there until then).
    row = page.locator("#history-rows td.name").first
    expect(row).to_have_text(HOSTILE_FILE_NAME.replace("\x1b", ""))  # printable label, shown as text
    assert row.text_content() == HOSTILE_FILE_NAME.replace("\x1b", "")  # exactly, not whitespace-normalised
    assert page.locator("#history-rows img").count() == 0
    frame = page.frame_locator("#report")
    frame.locator("text=<script>alert(1)</script>.evil.example").first.wait_for(timeout=30_000)
    assert frame.locator("script").count() == 1  # the report's own, nothing injected
    page.wait_for_timeout(500)
    assert watched.dialogs == [] and watched.errors == []


def test_a_capture_without_names_gets_a_diagnosis(server: Server, watched: Watched, tmp_path: Path) -> None:
    nameless = tmp_path / "nameless.pcap"
    write_frames(nameless, established())
    watched.sign_in(server)
    watched.page.select_option("#allowlist", "")
    watched.upload(str(nameless))
    assert watched.page.is_visible("#diagnosis")
    assert watched.page.text_content("#diagnosis-lines").startswith("1 external destination(s) by address only")
    assert watched.errors == []


def test_drop_a_file_and_resume_after_a_cut(server: Server, watched: Watched) -> None:
    """A file dropped on the page; its first PATCH is cut by the network: the page asks HEAD and goes on."""
    page = watched.page
    cut: list[str] = []

    def flaky(route: Any) -> None:
        if route.request.method == "PATCH" and not cut:
            cut.append(route.request.url)
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/api/v1/uploads/*", flaky)
    watched.sign_in(server)
    page.select_option("#allowlist", "")
    data = list((CAPTURES / "tls-port-5000.pcap").read_bytes())
    page.evaluate(
        """bytes => {
            const dt = new DataTransfer();
            dt.items.add(new File([new Uint8Array(bytes)], "dropped.pcap"));
            document.getElementById("drop").dispatchEvent(
                new DragEvent("drop", {dataTransfer: dt, bubbles: true, cancelable: true}));
        }""",
        data,
    )
    page.wait_for_selector("#result", state="visible", timeout=90_000)
    assert cut, "the first PATCH was not cut"
    assert page.text_content("#result-title", timeout=1000).startswith("dropped.pcap: ")
    # The cut request is the one console error expected: the browser reports the failed PATCH.
    assert all("ERR_CONNECTION_RESET" in e for e in watched.errors), watched.errors
