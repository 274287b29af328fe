"""Azure Firewall's resource-specific tables, in the three shapes a log reaches us.

Field names from Microsoft's reference of each table:
https://learn.microsoft.com/en-us/azure/azure-monitor/reference/tables/azfwapplicationrule
https://learn.microsoft.com/en-us/azure/azure-monitor/reference/tables/azfwnetworkrule
https://learn.microsoft.com/en-us/azure/azure-monitor/reference/tables/azfwdnsquery
https://learn.microsoft.com/en-us/azure/azure-monitor/reference/tables/azfwnatrule
https://learn.microsoft.com/en-us/azure/azure-monitor/reference/tables/azfwthreatintel
https://learn.microsoft.com/en-us/azure/azure-monitor/reference/tables/azfwidpssignature
and the diagnostic setting's record (category, time, resourceId, properties):
https://learn.microsoft.com/en-us/azure/azure-monitor/essentials/resource-logs-schema
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analyzer.api import analyze
from analyzer.sources import detect
from tests.support.logs import app_rule, envelope, la_csv, network_rule

T = "2024-06-10T06:13:20.1234567Z"

# The AKS notes' KQL table, as AZFWApplicationRule rows (counts as in the notes' first query, scaled down).
NOTES = [
    ("38c1758a-197e-44fc-83f8-31bb7619a8bc.ods.opinsights.azure.com", 443, 5),
    ("dc.services.visualstudio.com", 443, 3),
    ("mcr.microsoft.com", 443, 2),
    ("azure.archive.ubuntu.com", 80, 1),
]


def _notes_rows() -> list[dict[str, object]]:
    rows = []
    port_no = 40000
    for fqdn, port, n in NOTES:
        for _ in range(n):
            port_no += 1
            rows.append(app_rule(T, "10.10.0.4", port_no, fqdn, port))
    return rows


def _query_answer(rows: list[dict[str, object]], tables: int = 1) -> dict[str, object]:
    """``{"tables": [{"name", "columns", "rows"}]}``, the rows split over ``tables`` tables."""
    columns = list(rows[0])
    assert all(list(r) == columns for r in rows)
    share = -(-len(rows) // tables)
    return {
        "tables": [
            {
                "name": "PrimaryResult" if i == 0 else f"Table_{i}",
                "columns": [{"name": c, "type": "string"} for c in columns],
                "rows": [[r[c] for c in columns] for r in rows[i * share : (i + 1) * share]],
            }
            for i in range(tables)
        ]
    }


def _shapes(tmp_path: Path) -> dict[str, Path]:
    rows = _notes_rows()
    files = {
        "envelope": envelope(rows),
        "envelope-indented": envelope(rows, indent=2),
        "event-hub-lines": "\n".join(envelope([r]) for r in rows) + "\n",
        "la-json-array": json.dumps(rows, indent=1),
        "json-lines": "\n".join(json.dumps(r) for r in rows) + "\n",
        "csv": la_csv(rows),
        # The Log Analytics query API's answer (REST or `az rest`), compact and pretty-printed:
        # https://learn.microsoft.com/azure/azure-monitor/logs/api/response-format
        "la-query-api": json.dumps(_query_answer(rows)),
        "la-query-api-indented": json.dumps(_query_answer(rows), indent=4),
    }
    out = {}
    for name, text in files.items():
        p = tmp_path / f"{name}.log"
        p.write_text(text)
        out[name] = p
    return out


def test_every_shape_gives_the_notes_table(tmp_path: Path) -> None:
    expected = {(("HTTP" if port == 80 else "TLS"), port, fqdn, n, "Deny") for fqdn, port, n in NOTES}
    for name, path in _shapes(tmp_path).items():
        assert detect(path.read_bytes()[:65536]) == ("azure-firewall-csv" if name == "csv" else "azure-firewall-json")
        report = analyze(path)
        got = {(r["protocol"], r["port"], r["fqdn"], r["count"], r["action"]) for r in report.summary}
        assert got == expected, name
        assert report.capture.packets == 11 and report.capture.parse_errors == 0, name
        assert report.sources[0].tables == ("AZFWApplicationRule",)
        assert report.capture.first_ts == 1718000000123456700  # 7 fractional digits kept to 100 ns
        said = {r["fqdn"]: r for r in report.log_verdicts}
        assert said["mcr.microsoft.com"]["verdict_reason"] == "Default Action"


def test_rules_reasons_and_each_verdict_table(tmp_path: Path) -> None:
    rows = [
        app_rule(T, "10.10.0.4", 1, "mcr.microsoft.com", action="Allow", rule="Allow container images"),
        app_rule(T, "10.10.0.4", 2, "example.org", action="Allow", rule="", WebCategory="SearchEnginesAndPortals"),
        network_rule(T, "10.10.0.4", 3, "91.189.91.157", 123, "UDP", "Deny"),
        {"TimeGenerated": T, "Type": "AZFWNatRule", "Protocol": "TCP", "SourceIp": "203.0.113.7", "SourcePort": 5,
         "DestinationIp": "20.0.0.1", "DestinationPort": 3389, "TranslatedIp": "10.0.0.4", "TranslatedPort": 3389,
         "Policy": "p", "RuleCollectionGroup": "g", "RuleCollection": "c", "Rule": "rdp-in"},
        {"TimeGenerated": T, "Type": "AZFWThreatIntel", "Protocol": "HTTP", "SourceIp": "10.10.0.4", "SourcePort": 6,
         "DestinationIp": "198.51.100.66", "DestinationPort": 80, "Fqdn": "bad.example",
         "TargetUrl": "http://bad.example/x", "Action": "Deny", "ThreatDescription": "Known malicious domain",
         "IsTlsInspected": False},
        {"TimeGenerated": T, "Type": "AZFWIdpsSignature", "Protocol": "TCP", "SourceIp": "10.10.0.4", "SourcePort": 7,
         "DestinationIp": "198.51.100.67", "DestinationPort": 443, "Action": "Alert", "SignatureId": "2008983",
         "Category": "A Network Trojan was detected", "Description": "Suspicious User Agent", "Severity": 2},
        {"TimeGenerated": T, "Type": "AZFWDnsQuery", "SourceIp": "10.10.0.4", "SourcePort": 53001, "QueryId": 4,
         "QueryType": "AAAA", "QueryClass": "IN", "QueryName": "mcr.microsoft.com.", "Protocol": "UDP",
         "RequestSize": 40, "DnssecOkBit": False, "EDNS0BufferSize": 512, "ResponseCode": "NOERROR",
         "ResponseFlags": "qr,rd,ra", "ResponseSize": 80, "RequestDurationSecs": 0.01, "ErrorNumber": 0,
         "ErrorMessage": ""},
    ]  # fmt: skip
    path = tmp_path / "fw.json"
    path.write_text(envelope(rows))
    report = analyze(path)
    obs = {(o["fqdn"] or o["address"]): o for o in report.observations}
    assert obs["mcr.microsoft.com"]["rule"] == "Allow container images"
    assert obs["example.org"]["rule"] == "Web Category: SearchEnginesAndPortals"
    ntp = obs["91.189.91.157"]
    assert (ntp["protocol"], ntp["port"], ntp["verdict"], ntp["verdict_reason"]) == (
        "UDP",
        123,
        "denied",
        "Default Action",
    )
    assert obs["20.0.0.1"]["rule"] == "rdp-in" and obs["20.0.0.1"]["verdict"] == "ok"
    assert (obs["bad.example"]["rule"], obs["bad.example"]["verdict_reason"]) == (
        "ThreatIntel",
        "Known malicious domain",
    )
    idps = obs["198.51.100.67"]
    assert (idps["rule"], idps["verdict"], idps["verdict_reason"]) == ("IDPS 2008983", "ok", "Suspicious User Agent")
    assert [(d["qname"], d["qtype"], d["rcode"]) for d in report.dns] == [("mcr.microsoft.com", "AAAA", "NOERROR")]
    assert set(report.sources[0].tables) == {
        "AZFWApplicationRule", "AZFWNetworkRule", "AZFWNatRule", "AZFWThreatIntel", "AZFWIdpsSignature", "AZFWDnsQuery",
    }  # fmt: skip
    assert all(o["source_kind"] == "azure-firewall" for o in report.observations)


def test_export_without_type_column_and_portal_time(tmp_path: Path) -> None:
    """A CSV of selected columns (no Type) in the portal's local time format: the table is told by its columns."""
    path = tmp_path / "export.csv"
    path.write_text(
        "TimeGenerated [UTC],SourceIp,SourcePort,DestinationIp,DestinationPort,Protocol,Action,Rule\n"
        '"6/10/2024, 6:13:20.123 AM",10.10.0.4,5000,13.69.65.17,443,TCP,Deny,\n'
    )
    (o,) = analyze(path).observations
    assert (o["address"], o["port"], o["verdict"], o["first_seen"]) == (
        "13.69.65.17",
        443,
        "denied",
        1718000000123000000,
    )


@pytest.mark.parametrize("shape", ["envelope", "csv", "json-lines"])
def test_unparsed_records_are_counted_with_their_lines(tmp_path: Path, shape: str) -> None:
    rows = _notes_rows()[:3]
    path = tmp_path / "x.log"
    if shape == "envelope":
        text = envelope(rows, indent=1).replace('"records": [', '"records": [\n  {"hello": "world"},', 1)
    elif shape == "csv":
        lines = la_csv(rows).splitlines()
        text = "\n".join([lines[0], lines[1], "not,a,row", lines[2], lines[3]]) + "\n"
    else:
        text = "\n".join([json.dumps(rows[0]), "{not json", json.dumps(rows[1]), json.dumps(rows[2])]) + "\n"
    path.write_text(text)
    report = analyze(path)
    assert report.capture.packets == 3 and report.capture.parse_errors == 1
    ((line, _),) = report.sources[0].unparsed_lines
    assert line == (3 if shape != "json-lines" else 2)
    assert any("1 line(s) not understood" in w and f"line {line}" in w for w in report.warnings)


def test_a_query_answer_of_several_tables_and_a_cut_one(tmp_path: Path) -> None:
    """Every table of the answer is read, each row by its own table's columns; a cut answer gives every
    whole row before the cut, and says it is cut."""
    rows = _notes_rows()
    two = tmp_path / "two.json"
    two.write_text(json.dumps(_query_answer(rows, tables=2), indent=2))
    whole = analyze(two)
    assert whole.capture.packets == len(rows) and whole.capture.parse_errors == 0
    text = json.dumps(_query_answer(rows), indent=2)
    cut = tmp_path / "cut.json"
    cut.write_text(text[: text.index('"dc.services.visualstudio.com"')])  # inside the 6th row
    report = analyze(cut)
    assert report.capture.packets == 5  # the five rows before the cut
    assert any(w.startswith(f"{cut}: ") and "is cut off" in w for w in report.warnings), report.warnings
