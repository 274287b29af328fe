"""The morning report as JSON (``egress-nightly/1``): the drift rows as they are, timestamps ISO-8601."""

from __future__ import annotations

import json
from typing import Any

from analyzer.history.model import NightReport
from reports.jsondoc import records

SCHEMA = "egress-nightly/1"


def document(report: NightReport, fail_on: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "history": report.history,
        "profile": report.profile,
        "night": report.night,
        "run": report.run,
        "baseline": {
            "nights": list(report.baseline),
            "window": report.baseline_nights,
            "state": report.baseline_state,
        },
        "analysed": report.analysed,
        "reused": report.reused,
        "captures": records(report.captures),
        "drift": records(report.drift),
        "timeline": records(report.timeline),
        "fail_on": list(fail_on),
        "failing": len(report.gated(fail_on)),
    }


def render(report: NightReport, fail_on: tuple[str, ...] = ()) -> str:
    return json.dumps(document(report, fail_on), indent=2) + "\n"
