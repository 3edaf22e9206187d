# The JSON renderer of a Report, and what every view shares: the points format and the
# lines saying how each student program ended (the terminal
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


def program_lines(report: Report) -> list[str]:
    """For each program that replaced a role: how it ended, then its output, indented."""
    lines: list[str] = []
    for program in report.programs:
        ended = (f"was stopped at the step's timeout after {program.duration_s:g}s"
                 if program.timed_out else
                 f"exited with status {program.exit_status} after {program.duration_s:g}s"
                 if program.exit_status is not None else "could not be started")
        said = "its output:" if program.output else "no output"
        lines.append(f"program replacing {program.role} ({program.command}) {ended}; {said}")
        lines.extend(f"  {line}" for line in program.output.splitlines())
    return lines
