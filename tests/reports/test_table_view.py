# The terminal table drawn with rich: every check, hop and the total are in it; piped or
# with NO_COLOR it is plain ASCII without escape codes, on a terminal (a real pty) it is
# coloured; long feedback wraps and loses nothing; each hop's verdict reads the checks;
# the CLI starts without loading rich.
from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
from pathlib import Path

from labctl.reports import CheckResult, Report, TableLook, render_table
from labctl.reports.model import ProgramReport
from labctl.reports.table_view import MIN_WIDTH, PLAIN_WIDTH, hop_verdict
from labctl.scenarios.checks.base import hop_verdict as check_verdict

from .report_samples import sample_hops, sample_report

ROOT = Path(__file__).resolve().parents[2]
ESCAPE = "\x1b"
# What the CLI does with the table format: render for its stdout, print it.
PRINT_TABLE = (
    "from labctl.reports.formats import render_report\n"
    "from tests.reports.report_samples import sample_report\n"
    "print(render_report(sample_report(), 'table'), end='')\n"
)


class TerminalLike(io.StringIO):
    """A stream that says it is a terminal (as sys.stdout on one does)."""

    def isatty(self) -> bool:
        return True


def cells(table: str, column: int) -> list[str]:
    """The text of column `column` on each row line of an ASCII table (boxes drawn with |)."""
    return [line.split("|")[column + 1].strip() for line in table.splitlines()
            if line.startswith("| ") and line.count("|") > column + 1]


def report_with(checks: list[CheckResult]) -> Report:
    return Report.build("basic-delivery", "local", checks, sample_hops())


def test_table_has_every_check_every_hop_and_the_total() -> None:
    table = render_table(sample_report())
    lines = table.splitlines()
    assert lines[0] == "Scenario basic-delivery (backend local)"
    assert "| PASS |    1/1 | submission | ok           |" in lines
    assert "| FAIL |  0/2.5 | dialog     | missing QUIT |" in lines
    assert cells(table, 0)[:3] == ["", "PASS", "FAIL"]  # header, then the checks
    hops = table[table.index("Hops"):]
    assert cells(hops, 0) == ["Hop", "sender-ua -> sender-mta", "? -> receiver-mta"]
    assert cells(hops, 1)[1:] == ["alice-lan", "internet"]
    assert cells(hops, 2)[1:] == ["SMTP", "SMTP"]
    assert cells(hops, 3)[1:] == ["no check", "no check"]  # no check's feedback names a hop
    assert cells(hops, 4)[1:] == ["alice-lan.pcap", "internet.pcap"]
    assert "pcaps in captures" in hops
    assert lines.index("Checks") < lines.index("Hops") < lines.index("Score 1/3.5  FAILED")
    assert lines[-1] == "Score 1/3.5  FAILED"


def test_without_checks_or_traffic_the_table_says_so() -> None:
    table = render_table(Report.build("x", "local", [], []))
    assert "(no checks)" in table and "(no traffic captured)" in table
    assert table.rstrip().endswith("Score 0/0  FAILED")


def test_plain_table_is_ascii_without_escape_codes_and_styled_one_is_coloured() -> None:
    plain = render_table(sample_report())
    assert plain.isascii() and ESCAPE not in plain
    styled = render_table(sample_report(), TableLook(styled=True))
    assert "\x1b[1;31mFAIL" in styled and "\x1b[1;32mPASS" in styled and "╭" in styled
    assert "\x1b[1;31mScore 1/3.5  FAILED" in styled


def test_piped_output_has_no_escape_codes() -> None:
    piped = subprocess.run([sys.executable, "-c", PRINT_TABLE], capture_output=True,
                           text=True, check=True, cwd=ROOT,
                           env={**os.environ, "PYTHONPATH": str(ROOT), "FORCE_COLOR": "1",
                                "TERM": "xterm-256color"})
    assert ESCAPE not in piped.stdout and piped.stdout.isascii()
    assert "| FAIL |  0/2.5 | dialog" in piped.stdout
    assert piped.stdout.endswith("Score 1/3.5  FAILED\n")


def on_a_terminal(environ: dict[str, str]) -> str:
    """What PRINT_TABLE writes when its stdout is a pseudo-terminal."""
    controller, terminal = pty.openpty()
    child = subprocess.Popen([sys.executable, "-c", PRINT_TABLE], stdout=terminal,
                             stdin=subprocess.DEVNULL, cwd=ROOT, env=environ)
    os.close(terminal)
    output = bytearray()
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
    os.close(controller)
    assert child.wait() == 0
    return output.decode().replace("\r\n", "\n")


def test_a_terminal_gets_colours_unless_no_color_is_set() -> None:
    base = {**os.environ, "PYTHONPATH": str(ROOT), "TERM": "xterm-256color", "COLUMNS": "100"}
    base.pop("NO_COLOR", None)
    coloured = on_a_terminal(base)
    assert "\x1b[1;31mFAIL" in coloured and "╭" in coloured
    plain = on_a_terminal({**base, "NO_COLOR": "1"})
    assert ESCAPE not in plain and plain.isascii()
    assert "| FAIL |  0/2.5 | dialog" in plain


def test_look_follows_the_stream_and_the_environment() -> None:
    assert TableLook.for_stream(TerminalLike(), {"COLUMNS": "120"}) == TableLook(True, 120)
    assert not TableLook.for_stream(TerminalLike(), {"NO_COLOR": "1"}).styled
    assert not TableLook.for_stream(TerminalLike(), {"TERM": "dumb"}).styled
    assert TableLook.for_stream(TerminalLike(), {"NO_COLOR": ""}).styled  # set but empty
    assert TableLook.for_stream(io.StringIO(), {}) == TableLook(False, PLAIN_WIDTH)
    assert TableLook.for_stream(io.StringIO(), {"COLUMNS": "3"}).width == MIN_WIDTH


def test_long_feedback_wraps_within_the_width_and_is_complete() -> None:
    words = " ".join(f"word{n}" for n in range(60))
    feedback = (f"hop sender-ua -> sender-mta: expected {words}, observed "
                f"captures/{'x' * 150}.pcap")
    table = render_table(report_with([CheckResult(name="dialog", passed=False, score=0,
                                                  max_score=2, output=feedback)]),
                         TableLook(styled=False, width=72))
    assert max(len(line) for line in table.splitlines()) <= 72
    checks = table[table.index("Checks"):table.index("Hops")]
    shown = cells(checks, 3)[1:]  # Feedback, below its header
    assert len(shown) > 10
    assert "".join(shown).replace(" ", "") == feedback.replace(" ", "")
    assert "…" not in table and "..." not in table


def test_hop_verdict_reads_the_checks_about_the_hop() -> None:
    hop = "sender-ua -> sender-mta"
    checks = [CheckResult(name=name, passed=verdict.passed, score=1 if verdict.passed else 0,
                          max_score=1, output=verdict.output)
              for name, verdict in (("speaks", check_verdict(True, hop, "", "SMTP")),
                                    ("quits", check_verdict(False, hop, "QUIT", "RST")))]
    report = report_with(checks)
    submission, stray = report.hops
    assert hop_verdict(submission, report.checks) == ("FAIL (1 of 2 checks)", False)
    assert hop_verdict(stray, report.checks) == ("no check", None)
    table = render_table(report)
    assert "FAIL (1 of 2 checks)" in table and "hop sender-ua -> sender-mta: expected QUIT" in table
    passing = report_with(checks[:1])
    assert hop_verdict(passing.hops[0], passing.checks) == ("PASS (1 check)", True)


def test_a_damaged_capture_is_part_of_the_hops_verdict() -> None:
    damaged = sample_report().hops[1].model_copy(
        update={"incomplete": True, "problems": ["truncated record at byte 4096"]})
    verdict, good = hop_verdict(damaged, [])
    assert verdict.splitlines() == ["no check", "capture incomplete",
                                    "capture: truncated record at byte 4096"]
    assert good is False


def test_control_characters_are_shown_not_sent_to_the_terminal() -> None:
    hostile = CheckResult(name="dialog\x07", passed=False, score=0, max_score=1,
                          output="observed \x1b[2J\x9b31m and a\ttab")
    for look in (TableLook(styled=False), TableLook(styled=True)):
        table = render_table(report_with([hostile]), look)
        assert "\\x1b[2J" in table and "\\x9b31m" in table and "dialog\\x07" in table
        assert "\x1b[2J" not in table and "\x9b" not in table and "\x07" not in table



def test_pcaps_in_one_folder_are_named_under_a_caption_else_in_full() -> None:
    report = sample_report()
    together = report.model_copy(update={"hops": [
        hop.model_copy(update={"pcap": f"runs/run-1/{hop.network}.pcap"}) for hop in report.hops]})
    table = render_table(together)
    assert "pcaps in runs/run-1" in table
    assert cells(table[table.index("Hops"):], 4)[1:] == ["alice-lan.pcap", "internet.pcap"]
    moved = report.hops[1].model_copy(update={"pcap": "elsewhere/internet.pcap"})
    apart = render_table(report.model_copy(update={"hops": [report.hops[0], moved]}))
    assert "pcaps in" not in apart
    assert "captures/alice-lan.pcap" in apart and "elsewhere/internet.pcap" in apart


def test_at_the_narrowest_width_every_cell_is_still_complete() -> None:
    report = sample_report()
    table = render_table(report, TableLook(styled=False, width=MIN_WIDTH))
    assert max(len(line) for line in table.splitlines()) <= MIN_WIDTH
    hops = table[table.index("Hops"):]
    assert "".join(cells(hops, 0)).replace(" ", "") == "Hopsender-ua->sender-mta?->receiver-mta"
    assert "".join(cells(hops, 4)).replace(" ", "") == "Pcapalice-lan.pcapinternet.pcap"
    checks = table[table.index("Checks"):table.index("Hops")]
    assert "".join(cells(checks, 3)).replace(" ", "") == "FeedbackokmissingQUIT"


def test_the_cli_starts_without_rich() -> None:
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, labctl.cli; print('rich' in sys.modules)"],
        capture_output=True, text=True, check=True, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert loaded.stdout.strip() == "False"


def test_a_student_programs_ending_is_shown_after_the_hops() -> None:
    report = sample_report().model_copy(update={"programs": [
        ProgramReport(role="sender-ua", command="python3 client.py", exit_status=2,
                      timed_out=False, duration_s=0.3, output="expected 250, got 500")]})
    text = render_table(report)
    assert ("program replacing sender-ua (python3 client.py) exited with status 2 after "
            "0.3s; its output:\n  expected 250, got 500") in text
    assert text.index("program replacing") > text.index("pcaps in captures")
