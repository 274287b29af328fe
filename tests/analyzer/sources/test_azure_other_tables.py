"""The Azure Firewall tables that hold no verdict on a client's connection, as a diagnostic setting sends them
beside the others: never counted as lines egress failed to understand.

Columns from Microsoft's reference of each table:
https://learn.microsoft.com/en-us/azure/azure-monitor/reference/tables/azfwinternalfqdnresolutionfailure
(TimeGenerated, Fqdn, Error, ServerIp, ServerPort, Policy, RuleCollectionGroup, RuleCollection, Rule)
https://learn.microsoft.com/en-us/azure/azure-monitor/reference/tables/azfwflowtrace
(TimeGenerated, SourceIp, SourcePort, DestinationIp, DestinationPort, Protocol, Flag, Action, ActionReason)
https://learn.microsoft.com/en-us/azure/azure-monitor/reference/tables/azfwfatflow
(TimeGenerated, SourceIp, SourcePort, DestinationIp, DestinationPort, Protocol, FlowRate)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from analyzer.api import InputError, analyze
from analyzer.sources.records import NOTES_KEPT
from tests.support.logs import app_rule, envelope, la_csv

T = "2024-06-10T06:13:20.1234567Z"


def resolution_failure(fqdn: str, rule: str = "allow-ghcr", error: str = "dns: no such host") -> dict[str, Any]:
    return {
        "TimeGenerated": T,
        "Fqdn": fqdn,
        "Error": error,
        "ServerIp": "168.63.129.16",
        "ServerPort": 53,
        "Policy": "aks-policy",
        "RuleCollectionGroup": "aks",
        "RuleCollection": "aks-network",
        "Rule": rule,
        "Type": "AZFWInternalFqdnResolutionFailure",
    }


def flow_trace(flag: str) -> dict[str, Any]:
    return {
        "TimeGenerated": T,
        "SourceIp": "10.10.0.4",
        "SourcePort": 40001,
        "DestinationIp": "20.61.3.10",
        "DestinationPort": 443,
        "Protocol": "TCP",
        "Flag": flag,
        "Action": "Log",
        "ActionReason": "Additional TCP Log",
        "Type": "AZFWFlowTrace",
    }


def fat_flow() -> dict[str, Any]:
    return {
        "TimeGenerated": T,
        "SourceIp": "10.10.0.4",
        "SourcePort": 40002,
        "DestinationIp": "20.61.3.10",
        "DestinationPort": 443,
        "Protocol": "TCP",
        "FlowRate": 812.5,
        "Type": "AZFWFatFlow",
    }


def _rows() -> list[dict[str, Any]]:
    return [
        app_rule(T, "10.10.0.4", 40000, "mcr.microsoft.com", action="Allow", rule="allow-mcr"),
        resolution_failure("ghcr.io"),
        flow_trace("SYN-ACK"),
        flow_trace("FIN"),
        fat_flow(),
        app_rule(T, "10.10.0.4", 40003, "ghcr.io"),
    ]


SHAPES = {
    "envelope": lambda rows: envelope(rows, indent=1),
    "json-lines": lambda rows: "\n".join(json.dumps(r) for r in rows) + "\n",
    "la-json-array": lambda rows: json.dumps(rows, indent=1),
    "csv": la_csv,
}


@pytest.mark.parametrize("shape", SHAPES)
def test_the_other_tables_are_read_not_refused(tmp_path: Path, shape: str) -> None:
    path = tmp_path / "azfw.log"
    path.write_text(SHAPES[shape](_rows()))
    report = analyze(path)
    # The two application-rule records are the connections; the failed lookup is a lookup.
    assert sorted((o["fqdn"], o["verdict"]) for o in report.observations) == [
        ("ghcr.io", "denied"),
        ("mcr.microsoft.com", "ok"),
    ]
    assert [(d["qname"], d["rcode"]) for d in report.dns] == [("ghcr.io", "SERVFAIL")]
    assert report.capture.packets == 3 and report.capture.parse_errors == 0
    assert set(report.sources[0].tables) == {
        "AZFWApplicationRule", "AZFWInternalFqdnResolutionFailure", "AZFWFlowTrace", "AZFWFatFlow",
    }  # fmt: skip
    assert not any("not understood" in w for w in report.warnings), report.warnings
    assert f"{path}: the firewall could not resolve ghcr.io at 168.63.129.16:53 (dns: no such host): rule " \
        "aks-policy / aks / aks-network / allow-ghcr names it, and cannot allow it" in report.warnings  # fmt: skip
    assert f"{path}: AZFWFlowTrace records (a flow's TCP flags) hold no verdict: skipped (2 records)" in report.warnings
    assert f"{path}: AZFWFatFlow records (the top flows by rate) hold no verdict: skipped" in report.warnings


def test_each_table_is_told_by_its_columns_without_a_type(tmp_path: Path) -> None:
    """A CSV of one table's columns, without ``Type``: a flow trace has a network rule's columns too,
    and must not be read as one (its Action, Log, would have been an allowed connection)."""
    for row, table in (
        (resolution_failure("ghcr.io"), "AZFWInternalFqdnResolutionFailure"),
        (flow_trace("SYN"), "AZFWFlowTrace"),
        (fat_flow(), "AZFWFatFlow"),
    ):
        del row["Type"]
        path = tmp_path / f"{table}.csv"
        path.write_text(la_csv([app_rule(T, "10.10.0.4", 40000, "mcr.microsoft.com", action="Allow"), row]))
        report = analyze(path)
        assert table in report.sources[0].tables
        assert [o["fqdn"] for o in report.observations] == ["mcr.microsoft.com"]
        assert report.capture.parse_errors == 0


def test_a_log_of_flow_traces_alone_is_one_line_naming_why(tmp_path: Path) -> None:
    path = tmp_path / "trace.json"
    path.write_text(envelope([flow_trace("SYN"), flow_trace("RST")]))
    with pytest.raises(InputError) as err:
        analyze(path)
    assert str(err.value) == (
        f"{path}: no azure-firewall-json record with a verdict: AZFWFlowTrace records (a flow's TCP flags) hold no "
        "verdict: skipped"
    )


def test_a_failed_lookup_alone_is_a_report(tmp_path: Path) -> None:
    """The failed lookups are the answer when a rule's name does not resolve: a log of nothing else is read."""
    path = tmp_path / "fail.json"
    path.write_text(envelope([resolution_failure("ghcr.io"), resolution_failure("quay.io", rule="allow-quay")]))
    report = analyze(path)
    assert sorted(d["qname"] for d in report.dns) == ["ghcr.io", "quay.io"]
    assert sum("could not resolve" in w for w in report.warnings) == 2


def test_the_notes_are_bounded(tmp_path: Path) -> None:
    """Each distinct failure is one warning, repeated ones counted; past NOTES_KEPT kinds, one line counts the rest."""
    names = [f"host{i}.example.com" for i in range(NOTES_KEPT + 7)]
    rows = [resolution_failure(n) for n in names] + [resolution_failure(names[0])] * 2
    path = tmp_path / "many.json"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    report = analyze(path)
    notes = [w for w in report.warnings if "could not resolve" in w]
    assert len(notes) == NOTES_KEPT
    assert notes[0].endswith("(3 records)") and not notes[1].endswith("records)")
    assert f"{path}: 7 more record(s) with notes of other kinds" in report.warnings
    assert sorted(d["qname"] for d in report.dns) == sorted(names)  # every name's lookup is there all the same


def _mixed_without_type() -> list[dict[str, Any]]:
    """Rows of four tables in one export without ``Type``: each row has every column, empty where its table has none."""
    rows = [
        app_rule(T, "10.10.0.4", 40000, "mcr.microsoft.com", action="Allow", rule="allow-mcr"),
        app_rule(T, "10.10.0.4", 40001, "ghcr.io"),
        resolution_failure("quay.io"),
        flow_trace("SYN"),
    ]
    columns = list(dict.fromkeys(k for r in rows for k in r if k != "Type"))
    return [{c: r.get(c) for c in columns} for r in rows]


def test_an_export_of_several_tables_without_type_is_told_row_by_row(tmp_path: Path) -> None:
    """Told by the columns a row fills, not by those the export has: before, one flow trace among the rows
    made every row a flow trace (and the Deny was lost), a ServerIp column every row a failed lookup."""
    rows = _mixed_without_type()
    columns = list(rows[0])
    answer = {"tables": [{"name": "PrimaryResult", "columns": [{"name": c} for c in columns],
                          "rows": [[r[c] for c in columns] for r in rows]}]}  # fmt: skip
    for name, text in (("export.csv", la_csv(rows)), ("answer.json", json.dumps(answer))):
        path = tmp_path / name
        path.write_text(text)
        report = analyze(path)
        assert sorted((o["fqdn"], o["verdict"]) for o in report.observations) == [
            ("ghcr.io", "denied"),
            ("mcr.microsoft.com", "ok"),
        ], name
        assert [d["qname"] for d in report.dns] == ["quay.io"], name
        assert report.capture.parse_errors == 0, name
        assert sum("could not resolve" in w for w in report.warnings) == 1, name


def test_a_log_of_flow_traces_beside_other_sources_is_a_warning(tmp_path: Path) -> None:
    """A diagnostic setting writes each category to its own container: the flow traces' file, given with
    the application rules' file, must not end the run."""
    from analyzer.api import analyze_together

    rules, traces = tmp_path / "rules.json", tmp_path / "traces.json"
    rules.write_text(envelope([app_rule(T, "10.10.0.4", 40001, "ghcr.io")]))
    traces.write_text(envelope([flow_trace("SYN"), flow_trace("RST")]))
    report = analyze_together([rules, traces])
    assert [(o["fqdn"], o["verdict"]) for o in report.observations] == [("ghcr.io", "denied")]
    assert f"{traces}: AZFWFlowTrace records (a flow's TCP flags) hold no verdict: skipped (2 records)" in (
        report.warnings
    )
    with pytest.raises(InputError, match="no azure-firewall-json record with a verdict"):
        analyze_together([traces, traces])  # nothing else to report: refused, as alone


def test_the_diagnostic_setting_category_and_long_values(tmp_path: Path) -> None:
    """The category a diagnostic setting gives resolution failures (AZFWFqdnResolveFailure), without the
    ServerIp the columns would be told by; a value of a megabyte is cut in the warning."""
    row = resolution_failure("ghcr.io", error="x" * 1_000_000)
    del row["ServerIp"]
    row["Type"] = "AZFWFqdnResolveFailure"
    path = tmp_path / "d.json"
    path.write_text(envelope([row]))
    report = analyze(path)
    assert [d["qname"] for d in report.dns] == ["ghcr.io"]
    (note,) = [w for w in report.warnings if "could not resolve" in w]
    assert len(note) < 500 and "x" * 200 + "…" in note


def test_the_skipped_tables_are_named_however_many_failures_came_first(tmp_path: Path) -> None:
    rows = [resolution_failure(f"host{i}.example.com") for i in range(NOTES_KEPT + 3)] + [fat_flow()]
    path = tmp_path / "many.json"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    report = analyze(path)
    assert f"{path}: AZFWFatFlow records (the top flows by rate) hold no verdict: skipped" in report.warnings
    assert f"{path}: 3 more record(s) with notes of other kinds" in report.warnings
