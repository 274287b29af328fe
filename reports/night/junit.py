"""JUnit XML: one test case per drift item, so any CI (GitLab, Jenkins, GitHub test reporters) lists them.

An item of a ``--fail-on`` class is a ``<failure>``; a suppressed one is ``<skipped>`` with its
reason; the rest pass.  Unreadable captures are ``<error>`` cases.  Text goes through
:func:`reports.safe.visible` (no control character, which XML 1.0 cannot carry anyway) and the
XML writer escapes markup, so a hostile name stays text.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from analyzer.history.model import NightReport
from reports.night.words import CLASS_MEANING, detail, headline
from reports.safe import visible


def render(report: NightReport, fail_on: tuple[str, ...] = ()) -> str:
    gated = {id(r) for r in report.gated(fail_on)}
    errors = report.errors()
    suite = ET.Element(
        "testsuite",
        name=visible(f"egress drift {report.profile} {report.night}"),
        tests=str(len(report.drift) + len(errors)),
        failures=str(len(gated)),
        errors=str(len(errors)),
        skipped=str(sum(1 for r in report.drift.rows if r["suppressed"])),
        timestamp=f"{report.night}T00:00:00",
    )
    props = ET.SubElement(suite, "properties")
    for name, value in (
        ("profile", report.profile),
        ("night", report.night),
        ("baseline", " ".join(report.baseline)),
        ("baseline_state", report.baseline_state),
        ("fail_on", " ".join(fail_on)),
    ):
        ET.SubElement(props, "property", name=name, value=visible(value))
    for row in report.drift.rows:
        case = ET.SubElement(
            suite, "testcase", classname=f"egress.drift.{row['class']}", name=visible(row["name"]), time="0"
        )
        text = visible(detail(row))
        if id(row) in gated:
            failure = ET.SubElement(case, "failure", message=text, type=row["class"])
            failure.text = visible(CLASS_MEANING[row["class"]])
        elif row["suppressed"]:
            ET.SubElement(case, "skipped", message=visible(row["reason"]))
        else:
            out = ET.SubElement(case, "system-out")
            out.text = text
    for row in errors:
        case = ET.SubElement(suite, "testcase", classname="egress.capture", name=visible(row["name"]), time="0")
        ET.SubElement(case, "error", message=visible(row["error"]), type="unreadable-capture")
    out = ET.SubElement(suite, "system-out")
    out.text = visible(headline(report, fail_on))
    ET.indent(suite)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"
