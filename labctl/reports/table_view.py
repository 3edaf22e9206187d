# The terminal view of a run's report, drawn with rich: a checks table (mark, points,
# name, the check's feedback: what was expected, what was seen and on which hop), a hops
# table (hop, network, protocols seen, the hop's verdict, its pcap: the file's name under
# a "pcaps in FOLDER" caption when all share one folder) and the total line.
#
# Two looks, chosen by where the text goes (TableLook.for_stream): on a terminal, colours
# and box drawing at the terminal's width; piped, or with NO_COLOR set (no-color.org) or
# TERM=dumb, plain ASCII boxes with no escape code at all. Long cells wrap (a word longer
# than its column is folded), never cut. Control characters from a report (a capture can
# carry any byte) are shown as \xNN so they cannot drive the terminal.
#
# rich is imported here only: the CLI imports this module when it draws a table.
from __future__ import annotations

import io
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import TextIO

from rich import box
from rich.console import Console, JustifyMethod
from rich.table import Table
from rich.text import Text

from labctl.reports.model import CheckResult, HopReport, Report
from labctl.reports.render import points, program_lines

PLAIN_WIDTH = 100  # columns of the text when the width is not known (piped, no COLUMNS)
MIN_WIDTH = 40
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # all but tab and newline


@dataclass(frozen=True)
class TableLook:
    """How the table is drawn: styled (colours, box drawing) or plain ASCII, and how wide."""

    styled: bool
    width: int = PLAIN_WIDTH

    @classmethod
    def for_stream(cls, stream: TextIO, environ: Mapping[str, str] | None = None) -> TableLook:
        """The look for text written to `stream`: styled only on a terminal without NO_COLOR."""
        env = os.environ if environ is None else environ
        terminal = stream.isatty()
        styled = terminal and not env.get("NO_COLOR") and env.get("TERM") != "dumb"
        return cls(styled=styled, width=_width(stream, env, terminal))


PLAIN = TableLook(styled=False)


def _width(stream: TextIO, env: Mapping[str, str], terminal: bool) -> int:
    """COLUMNS when set, else the terminal's width, else PLAIN_WIDTH (at least MIN_WIDTH)."""
    columns = env.get("COLUMNS", "")
    if columns.isdigit():
        return max(int(columns), MIN_WIDTH)
    if terminal:
        try:
            return max(os.get_terminal_size(stream.fileno()).columns, MIN_WIDTH)
        except (OSError, ValueError):
            pass
    return PLAIN_WIDTH


def visible(text: str) -> str:
    """`text` with its control characters (but tab and newline) written as \\xNN."""
    return _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def checks_on(hop: HopReport, checks: list[CheckResult]) -> list[CheckResult]:
    """The checks whose feedback is about `hop`: it opens with "hop NAME:" (hop_verdict's line)."""
    return [check for check in checks if check.output.startswith(f"hop {hop.name}:")]


def hop_verdict(hop: HopReport, checks: list[CheckResult]) -> tuple[str, bool | None]:
    """The hop's verdict in words (its checks, then its capture) and whether it is good
    (None: nothing to judge, no check on the hop and a clean capture)."""
    graded = checks_on(hop, checks)
    failed = sum(not check.passed for check in graded)
    plural = "s" if len(graded) != 1 else ""
    if not graded:
        words = ["no check"]
    elif failed:
        words = [f"FAIL ({failed} of {len(graded)} check{plural})"]
    else:
        words = [f"PASS ({len(graded)} check{plural})"]
    if hop.incomplete:
        words.append("capture incomplete")
    words += [f"capture: {problem}" for problem in hop.problems]
    bad = bool(failed) or hop.incomplete or bool(hop.problems)
    return "\n".join(words), (False if bad else True if graded else None)


def _mark(passed: bool, look: TableLook) -> Text:
    return Text("PASS" if passed else "FAIL",
                style=("bold green" if passed else "bold red") if look.styled else "")


def _table(title: str, look: TableLook) -> Table:
    return Table(title=title, title_justify="left", box=box.ROUNDED if look.styled else box.ASCII,
                 header_style="bold" if look.styled else "", title_style="bold" if look.styled
                 else "", show_lines=True, expand=False)


def checks_table(report: Report, look: TableLook) -> Table:
    """One row per check: PASS/FAIL, points, name and the whole feedback."""
    table = _table("Checks", look)
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("", "left"), ("Points", "right"), ("Check", "left"), ("Feedback", "left"))
    for header, justify in columns:
        table.add_column(header, justify=justify, overflow="fold")
    for check in report.checks:
        table.add_row(_mark(check.passed, look),
                      Text(f"{points(check.score)}/{points(check.max_score)}"),
                      Text(visible(check.name)), Text(visible(check.output.strip())))
    return table


def pcap_folder(report: Report) -> str | None:
    """The folder every hop's pcap is in, when they share one (the table then names files)."""
    folders = {str(PurePath(hop.pcap).parent) for hop in report.hops}
    return folders.pop() if len(folders) == 1 and report.hops else None


def hops_table(report: Report, look: TableLook) -> Table:
    """One row per hop: who talked to whom, where, in which protocols, its verdict and pcap."""
    table = _table("Hops", look)
    folder = pcap_folder(report)
    if folder not in (None, "."):
        table.caption, table.caption_justify = visible(f"pcaps in {folder}"), "left"
    for header in ("Hop", "Network", "Protocols", "Verdict", "Pcap"):
        table.add_column(header, overflow="fold")
    for hop in report.hops:
        verdict, good = hop_verdict(hop, report.checks)
        colour = {True: "green", False: "red", None: ""}[good] if look.styled else ""
        pcap = PurePath(hop.pcap).name if folder is not None else hop.pcap
        table.add_row(Text(visible(hop.name)), Text(visible(hop.network)),
                      Text(visible(", ".join(hop.protocols) or "-")),
                      Text(visible(verdict), style=colour), Text(visible(pcap)))
    return table


def total_line(report: Report, look: TableLook) -> Text:
    """"Score 1/3.5  FAILED": the points of every check and the run's verdict."""
    verdict = "PASSED" if report.passed else "FAILED"
    colour = ("bold green" if report.passed else "bold red") if look.styled else ""
    return Text(f"Score {points(report.score)}/{points(report.max_score)}  {verdict}",
                style=colour)


def render_table(report: Report, look: TableLook = PLAIN) -> str:
    """The report as terminal text: the checks, the hops, then the total (plain by default)."""
    out = io.StringIO()
    console = Console(file=out, width=look.width, force_terminal=look.styled,
                      color_system="standard" if look.styled else None,
                      no_color=not look.styled, highlight=False, markup=False, emoji=False,
                      legacy_windows=False, force_jupyter=False)
    console.print(Text(visible(f"Scenario {report.scenario} (backend {report.backend})"),
                       style="bold" if look.styled else ""))
    console.print()
    console.print(checks_table(report, look) if report.checks else Text("(no checks)"))
    console.print()
    console.print(hops_table(report, look) if report.hops else Text("(no traffic captured)"))
    console.print()
    if report.programs:  # student programs: how they ended, for information
        console.print(Text(visible("\n".join(program_lines(report)))))
        console.print()
    console.print(total_line(report, look))
    return "\n".join(line.rstrip() for line in out.getvalue().splitlines()) + "\n"
