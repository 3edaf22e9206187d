# Renderers of a Report: the terminal table and JSON (the HTML page is html_page.py).
#
# Pure functions from a Report to text, so the CLI, the controller and tests share them.
from __future__ import annotations

from labctl.reports.model import Report


def points(value: float) -> str:
    """Format points without a useless ".0": 2.0 -> "2", 0.5 -> "0.5"."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _columns(rows: list[list[str]], indent: str = "  ") -> list[str]:
    """Left-align the cells of `rows` in columns two spaces apart."""
    if not rows:
        return []
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        (indent + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))).rstrip()
        for row in rows
    ]


def render_table(report: Report) -> str:
    """The report as a terminal table: hops, then checks with points, then the score."""
    lines = [f"Scenario {report.scenario} (backend {report.backend})", "", "Hops"]
    hop_rows = [
        [hop.name, hop.network, ", ".join(hop.protocols) or "-", f"pcap {hop.pcap}"]
        for hop in report.hops
    ]
    lines += _columns(hop_rows) or ["  (no traffic captured)"]
    lines += ["", "Checks"]
    check_rows = [
        [
            "PASS" if check.passed else "FAIL",
            f"{points(check.score)}/{points(check.max_score)}",
            check.name,
        ]
        for check in report.checks
    ]
    for check, row in zip(report.checks, _columns(check_rows), strict=True):
        lines.append(row)
        lines += [f"        {line}" for line in check.output.splitlines() if line.strip()]
    verdict = "PASSED" if report.passed else "FAILED"
    lines += ["", f"Score {points(report.score)}/{points(report.max_score)}  {verdict}"]
    return "\n".join(lines) + "\n"


def render_json(report: Report) -> str:
    """The report as indented JSON (the contract read by Report.from_json)."""
    return report.to_json(indent=2) + "\n"
