# The JSON renderer of a Report and the points format every view shares (the terminal
# table is table_view.py, drawn with rich; the HTML page is html_page.py).
#
# Pure functions from a Report to text, so the CLI, the controller and tests share them.
from __future__ import annotations

from labctl.reports.model import Report


def points(value: float) -> str:
    """Format points without a useless ".0": 2.0 -> "2", 0.5 -> "0.5"."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def render_json(report: Report) -> str:
    """The report as indented JSON (the contract read by Report.from_json)."""
    return report.to_json(indent=2) + "\n"
