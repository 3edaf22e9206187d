# A Report in the formats graders' tools read: JUnit XML (CI systems, LMS plugins) and
# Gradescope's autograder results.json.
#
# JUnit: one <testsuite> named after the scenario, one <testcase> per check; a failed
# check is a <failure> whose message is the feedback's first line and whose text is
# the whole feedback; the points are <properties> (points, max_points) of the case and
# of the suite. The hops go to the suite's <system-out>, so a reader sees which
# protocol ran where. Text that XML 1.0 cannot hold (control characters) is shown as
# \xNN escapes rather than dropped or allowed to break the file.
#
# Gradescope (autograder specification): score and per-test name, score, max_score,
# status, output and visibility; the top-level output lists the hops.
# Both add, after the hops, how each student program that replaced a role ended, and
# its output (information for the student; the checks grade the captures).
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ElementTree

from labctl.reports.model import Report
from labctl.reports.render import points, program_lines

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _xml_text(text: str) -> str:
    """`text` with the characters XML 1.0 forbids written as \\xNN (or \\uNNNN)."""
    def escape(match: re.Match[str]) -> str:
        code = ord(match.group())
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    return _NOT_XML.sub(escape, text)


def hop_lines(report: Report) -> list[str]:
    """One line per hop: who talked to whom, on which network, in which protocols."""
    return [f"{hop.name} on {hop.network}: {', '.join(hop.protocols) or 'no traffic'}"
            for hop in report.hops] or ["no traffic captured"]


def _properties(parent: ElementTree.Element, values: dict[str, str]) -> None:
    holder = ElementTree.SubElement(parent, "properties")
    for name, value in values.items():
        ElementTree.SubElement(holder, "property", name=name, value=_xml_text(value))


def render_junit(report: Report) -> str:
    """The report as a JUnit XML document (one test case per check)."""
    failures = sum(not check.passed for check in report.checks)
    suite = ElementTree.Element("testsuite", name=_xml_text(report.scenario),
                                tests=str(len(report.checks)), failures=str(failures),
                                errors="0", skipped="0")
    _properties(suite, {"backend": report.backend, "points": points(report.score),
                        "max_points": points(report.max_score)})
    for check in report.checks:
        case = ElementTree.SubElement(suite, "testcase", name=_xml_text(check.name),
                                      classname=_xml_text(report.scenario))
        _properties(case, {"points": points(check.score),
                           "max_points": points(check.max_score)})
        if not check.passed:
            first_line = check.output.strip().splitlines()[0] if check.output.strip() else ""
            failure = ElementTree.SubElement(case, "failure", message=_xml_text(first_line),
                                             type="check failed")
            failure.text = _xml_text(check.output)
    out = "\n".join([*hop_lines(report), *program_lines(report)])
    ElementTree.SubElement(suite, "system-out").text = _xml_text(out)
    ElementTree.indent(suite)
    body = ElementTree.tostring(suite, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'


def render_gradescope(report: Report) -> str:
    """The report as Gradescope's results.json (every test visible to the student)."""
    results = {
        "score": report.score,
        "output": f"Scenario {report.scenario} on the {report.backend} lab\n"
                  + "\n".join([*hop_lines(report), *program_lines(report)]),
        "visibility": "visible",
        "stdout_visibility": "visible",
        "tests": [
            {"name": check.name, "number": str(number), "score": check.score,
             "max_score": check.max_score, "status": "passed" if check.passed else "failed",
             "output": check.output, "visibility": "visible"}
            for number, check in enumerate(report.checks, start=1)
        ],
    }
    return json.dumps(results, indent=2, ensure_ascii=False) + "\n"
