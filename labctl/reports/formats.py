# The formats a run's report can be printed in, by name: the one list the CLI offers.
from __future__ import annotations

from collections.abc import Callable

from labctl.reports.grading_formats import render_gradescope, render_junit
from labctl.reports.model import Report
from labctl.reports.render import render_json, render_table

REPORT_FORMATS: dict[str, Callable[[Report], str]] = {
    "table": render_table,  # for people at a terminal
    "json": render_json,  # the report contract
    "junit": render_junit,  # JUnit XML, one test case per check
    "gradescope": render_gradescope,  # Gradescope's autograder results.json
}


def render_report(report: Report, format_name: str) -> str:
    """`report` in the format called `format_name` (one of REPORT_FORMATS)."""
    return REPORT_FORMATS[format_name](report)
