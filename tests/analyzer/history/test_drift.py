"""Drift between stored nights: every class, the baseline state, suppressions, --from/--to."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer.api import InputError, drift, nightly
from tests.support import nights


def _items(report: object) -> list[tuple[str, str]]:
    return [(r["class"], r["name"]) for r in report.drift]  # type: ignore[attr-defined]


def test_night_two_against_night_one_is_exactly_the_three_changes(tmp_path: Path) -> None:
    history = nights.two_nights(tmp_path)
    report = drift(history)
    assert (report.profile, report.night, report.baseline) == ("sunbeam", nights.NIGHT2, (nights.NIGHT1,))
    assert _items(report) == nights.EXPECTED
    blocked, new, gone = report.drift.rows
    assert (blocked["verdict"], blocked["previous_verdict"], blocked["action"]) == ("tls-interrupted", "ok", "Deny")
    assert blocked["captures"] == new["captures"] == gone["captures"] == ["host-b/out.pcap"]
    assert (new["first_night"], new["nights_seen"], new["nights"]) == (nights.NIGHT2, 1, 2)
    assert (gone["last_night"], gone["ports"]) == (nights.NIGHT1, ["TCP/443"])
    assert report.baseline_state == "learning"
    assert [len(report.gated((g,))) for g in ("new", "gone", "blocked", "regression", "missing")] == [1, 1, 1, 0, 0]


def test_with_the_allowlist_the_block_is_a_regression_and_the_unused_entry_shows(tmp_path: Path) -> None:
    history = nights.two_nights(tmp_path, allowlist=True)
    report = drift(history)
    assert _items(report) == nights.EXPECTED_WITH_ALLOWLIST
    regression, new, _, unused = report.drift.rows
    assert (regression["status"], regression["entry"]) == ("blocked-but-allowed", nights.MIRROR)
    assert new["status"] == "missing"
    assert (unused["entry"], unused["entry_line"]) == ("unused.nightly.example", 3)
    assert [len(report.gated((g,))) for g in ("new", "gone", "blocked", "regression", "missing")] == [1, 1, 1, 1, 1]


def _three_nights(tmp_path: Path, **kwargs: object) -> Path:
    history = nights.two_nights(tmp_path)
    folder = nights.night_folder(nights.NIGHT3, tmp_path / "captures")
    nightly([folder], history=history, night=nights.NIGHT3, **kwargs)  # type: ignore[arg-type]
    return history


def test_unblocked_flapping_and_port_change(tmp_path: Path) -> None:
    history = _three_nights(tmp_path)
    report = drift(history)
    assert report.baseline == (nights.NIGHT1, nights.NIGHT2)
    assert _items(report) == [("port-change", nights.ADDED), ("unblocked", nights.MIRROR), ("flapping", nights.DROPPED)]
    port, unblocked, flapping = report.drift.rows
    assert (port["ports"], port["baseline_ports"]) == (["TCP/8443"], ["TCP/443"])
    assert (unblocked["verdict"], unblocked["previous_verdict"]) == ("ok", "tls-interrupted")
    assert (flapping["nights_seen"], flapping["nights"]) == (2, 3)


def test_baseline_state_learning_stable_unstable(tmp_path: Path) -> None:
    history = _three_nights(tmp_path)
    assert drift(history).baseline_state == "learning"  # 2 of 7 nights
    assert drift(history, baseline_nights=2).baseline_state == "unstable"  # nights 1 and 2 differ
    assert drift(history, night=nights.NIGHT2, baseline_nights=1).baseline_state == "stable"


def test_from_compares_two_nights_only(tmp_path: Path) -> None:
    history = _three_nights(tmp_path)
    report = drift(history, from_night=nights.NIGHT1, night=nights.NIGHT3)
    assert report.baseline == (nights.NIGHT1,)
    assert _items(report) == [("new", nights.ADDED)]
    with pytest.raises(InputError, match="must come before"):
        drift(history, from_night=nights.NIGHT3, night=nights.NIGHT1)
    with pytest.raises(InputError, match="no night 2020-01-01 stored"):
        drift(history, night="2020-01-01")
    with pytest.raises(InputError, match="no night stored for profile 'aks'"):
        drift(history, profile="aks")


def test_suppressions_mark_items_and_report_expired_ones(tmp_path: Path) -> None:
    history = nights.two_nights(tmp_path)
    file = tmp_path / "suppressions.yaml"
    file.write_text(
        "version: 1\n"
        "suppressions:\n"
        "  - name: '*.nightly.example'\n    class: new\n    reason: the new mirror, ticket 42\n"
        "    expires: 2027-01-31\n"
        "  - name: old.example\n    class: '*'\n    reason: gone for good\n    expires: 2026-06-30\n"
    )
    report = drift(history, suppressions=file)
    assert _items(report) == [*nights.EXPECTED, ("expired-suppression", "old.example")]
    new = report.drift.rows[1]
    assert (new["suppressed"], new["reason"], new["expires"]) == (True, "the new mirror, ticket 42", "2027-01-31")
    assert report.gated(("new",)) == []  # a suppressed item never fails a gate
    assert len(report.gated(("gone", "blocked"))) == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nope", "not a suppressions file"),
        ("version: 1\nsuppressions:\n  - name: x\n    class: new\n", "suppression 1: missing reason, expires"),
        (
            "version: 1\nsuppressions:\n  - {name: x, class: odd, reason: r, expires: 2027-01-01}\n",
            "unknown class 'odd'",
        ),
        ("version: 1\nsuppressions:\n  - {name: x, class: new, reason: r, expires: soon}\n", "not a date"),
        ("version: 1\nsuppressions: [\n", "not YAML"),
    ],
)
def test_a_bad_suppressions_file_is_one_line(tmp_path: Path, text: str, message: str) -> None:
    history = nights.two_nights(tmp_path)
    file = tmp_path / "s.yaml"
    file.write_text(text)
    with pytest.raises(InputError, match=message):
        drift(history, suppressions=file)


def test_drift_on_a_folder_without_history(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no history here yet"):
        drift(tmp_path)
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(InputError, match="not an egress history"):
        drift(tmp_path)


def _fields(rows: list[dict[str, object]]) -> list[tuple[object, ...]]:
    keys = ("class", "name", "ports", "baseline_ports", "verdict", "previous_verdict", "action", "status", "entry")
    return [tuple(r[k] for k in keys) for r in rows]


@pytest.mark.parametrize("allowlist", [False, True])
def test_one_capture_against_a_profile_is_what_storing_it_as_a_night_gives(tmp_path: Path, allowlist: bool) -> None:
    from analyzer.api import analyze, read_allowlist, report_drift

    history = nights.host_b_history(tmp_path / "one", allowlist=allowlist)
    files = sorted(history.rglob("*"))
    rules = read_allowlist(nights.allowlist_file(tmp_path)) if allowlist else None
    upload = analyze(nights.host_b_capture(nights.NIGHT2, tmp_path), allowlist=rules, name="night2.pcap")
    got = report_drift(upload, history=history, profile="sunbeam")
    assert sorted(history.rglob("*")) == files  # read, never written
    assert (got.night, got.baseline, got.run, got.baseline_state) == ("upload", (nights.NIGHT1,), None, "learning")
    assert _items(got) == (nights.EXPECTED_WITH_ALLOWLIST if allowlist else nights.EXPECTED)
    assert all(r["captures"] == ["night2.pcap"] for r in got.drift.rows if r["class"] in ("new", "newly-blocked"))
    # The oracle: the same capture stored as night 2 and compared by `drift` (DuckDB over the Parquet files).
    stored = drift(nights.host_b_history(tmp_path / "two", (nights.NIGHT1, nights.NIGHT2), allowlist=allowlist))
    assert _fields(got.drift.rows) == _fields(stored.drift.rows)


def test_one_capture_against_a_profile_the_history_lacks(tmp_path: Path) -> None:
    from analyzer.api import analyze, report_drift

    history = nights.host_b_history(tmp_path)
    upload = analyze(nights.host_b_capture(nights.NIGHT2, tmp_path))
    with pytest.raises(InputError, match="no night stored for profile 'other'"):
        report_drift(upload, history=history, profile="other")
    with pytest.raises(InputError, match="not an egress history"):
        report_drift(upload, history=tmp_path / "captures", profile="sunbeam")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no history here yet"):
        report_drift(upload, history=tmp_path / "empty", profile="sunbeam")
