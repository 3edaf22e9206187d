# The formats a run's report can be printed in, by name: the one list the CLI offers.
# Each renderer is imported when it is used, so the CLI's parser (which lists the names)
# starts without the report models.
from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from labctl.reports.model import Report


def _table(report: Report) -> str:
    from labctl.reports.table_view import TableLook, render_table  # loads rich
    return render_table(report, TableLook.for_stream(sys.stdout))


def _json(report: Report) -> str:
    from labctl.reports.render import render_json
    return render_json(report)


def _junit(report: Report) -> str:
    from labctl.reports.grading_formats import render_junit
    return render_junit(report)


def _gradescope(report: Report) -> str:
    from labctl.reports.grading_formats import render_gradescope
    return render_gradescope(report)


REPORT_FORMATS: dict[str, Callable[[Report], str]] = {
    "table": _table,  # for people: styled on a terminal, plain ASCII when piped
    "json": _json,  # the report contract
    "junit": _junit,  # JUnit XML, one test case per check
    "gradescope": _gradescope,  # Gradescope's autograder results.json
}


def render_report(report: Report, format_name: str) -> str:
    """`report` in the format called `format_name` (one of REPORT_FORMATS)."""
    return REPORT_FORMATS[format_name](report)
