"""The KQL-shaped summary: one row per (protocol, port, name, verdict), its detail true of what it counts."""

from __future__ import annotations

from typing import Any

from analyzer import schema
from analyzer.frames import Table
from analyzer.summary import summarize


def _obs(*details: str | None, address: str = "198.51.100.7") -> Table:
    rows: list[dict[str, Any]] = []
    for i, d in enumerate(details):
        rows.append(
            {
                "protocol": "UDP",
                "port": 123,
                "fqdn": "ntp.ubuntu.com",
                "address": address,
                "count": 1,
                "bytes": 76,
                "verdict": "no-reply",
                "first_seen": 1_000 + i,
                "last_seen": 2_000 + i,
                "source": "dns",
                "via": None,
                "detail": d,
            }
        )
    return Table("observations", rows)


def test_a_detail_says_how_many_connections_it_describes() -> None:
    """'count_ 2' next to '1 datagram(s), no answer' read as a contradiction (issue 10, item 16)."""
    (one,) = summarize(_obs("1 datagram(s), no answer")).rows
    assert one["detail"] == "1 datagram(s), no answer"
    (both,) = summarize(_obs("1 datagram(s), no answer", "1 datagram(s), no answer")).rows
    assert both["count"] == 2 and both["detail"] == "1 datagram(s), no answer (all of 2 connections)"
    (mixed,) = summarize(_obs("2 datagram(s), no answer", "1 datagram(s), no answer", "1 datagram(s), no answer")).rows
    assert mixed["detail"] == "1 datagram(s), no answer (2 of 3 connections)"


def test_rows_have_the_summary_schema_and_lists() -> None:
    (row,) = summarize(_obs("x", "x")).rows
    assert tuple(row) == schema.column_names("summary")
    assert row["addresses"] == ["198.51.100.7"] and row["vias"] == []
