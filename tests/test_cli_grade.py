# labctl grade without a lab: finding the submissions, naming the labs, the class
# summary's CSV and JSON, the progress line, bad input refused before any lab starts,
# and a worker's retry on a lab whose controller never answers (a fake backend).
from __future__ import annotations

import csv
import io
import json
import queue
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from labctl.backends.base import LabBackend, LabError, Progress
from labctl.backends.role_shell import ShellCommand
from labctl.cli import main
from labctl.cli_grade import (
    GradingInputError,
    check_out_dir,
    default_out_dir,
    discover_submissions,
)
from labctl.grade_labs import GradingJob, LabWorker, choose_lab_instances
from labctl.grade_progress import GradingProgress, elapsed_text
from labctl.grade_summary import ClassSummary, GradeRow, ProgramEnd
from labctl.model import LabInstance, Runtime
from labctl.model.instance import INSTANCE_ENV
from labctl.scenarios import load_scenario
from tests.conftest import PROJECT, TEST_INSTANCE

SCENARIO = PROJECT / "scenarios" / "smtp-client.yaml"
NO_PROGRAM_SCENARIO = PROJECT / "scenarios" / "basic-delivery.yaml"
ROLE = "sender-ua=python3 client.py"


def make_class(root: Path, *students: str) -> Path:
    for student in students:
        (root / student).mkdir(parents=True)
        (root / student / "client.py").write_text("print('hi')\n")
    return root


# -- submissions and the output folder -------------------------------------------------

def test_every_folder_is_a_submission_and_files_are_noted(tmp_path: Path) -> None:
    folder = make_class(tmp_path / "class", "zoe", "alice", "bob")
    (folder / "README.txt").write_text("not a student")
    (folder / ".git").mkdir()
    notes: list[str] = []
    found = discover_submissions(folder, notes.append)
    assert [path.name for path in found] == ["alice", "bob", "zoe"]
    assert len(notes) == 2
    assert any("README.txt" in note and "ignored" in note for note in notes)


def test_the_output_folder_inside_the_class_is_no_submission(tmp_path: Path) -> None:
    folder = make_class(tmp_path, "alice", "grades-x")
    found = discover_submissions(folder, lambda _: None, skip=folder / "grades-x")
    assert [path.name for path in found] == ["alice"]


def test_a_missing_or_empty_class_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(GradingInputError, match="no such folder"):
        discover_submissions(tmp_path / "nope", lambda _: None)
    (tmp_path / "only-a-file.py").write_text("")
    with pytest.raises(GradingInputError, match="holds no submission folder"):
        discover_submissions(tmp_path, lambda _: None)
    with pytest.raises(GradingInputError, match="not a folder"):
        discover_submissions(tmp_path / "only-a-file.py", lambda _: None)


def test_the_default_output_folder_names_the_scenario_and_time() -> None:
    when = datetime(2026, 11, 27, 18, 5, 9, tzinfo=UTC)
    assert default_out_dir("smtp-client", when) == Path("grades-smtp-client-20261127-180509")
    assert default_out_dir("a b/c", when) == Path("grades-a-b-c-20261127-180509")


def test_a_folder_with_files_in_it_is_never_the_output(tmp_path: Path) -> None:
    check_out_dir(tmp_path / "new")
    check_out_dir(tmp_path)
    (tmp_path / "summary.csv").write_text("old grades")
    with pytest.raises(GradingInputError, match="not an empty folder"):
        check_out_dir(tmp_path)


# -- lab names --------------------------------------------------------------------------

def test_labs_are_numbered_on_distinct_slots() -> None:
    chosen = choose_lab_instances("grade", 4, lambda _: False)
    assert [i.name for i in chosen][:1] == ["grade-1"]
    assert len({i.slot for i in chosen}) == 4
    assert all(i.name.startswith("grade-") for i in chosen)


def test_a_name_whose_slot_a_running_lab_holds_is_skipped() -> None:
    taken = {LabInstance.named("grade-1").slot}
    chosen = choose_lab_instances("grade", 2, lambda i: i.slot in taken)
    assert "grade-1" not in [i.name for i in chosen]
    assert not {i.slot for i in chosen} & taken


def test_two_names_of_one_slot_are_never_both_chosen() -> None:
    by_slot: dict[int, str] = {}
    for n in range(1, 400):
        name = f"grade-{n}"
        first = by_slot.setdefault(LabInstance.named(name).slot, name)
        if first != name:
            break
    later = int(name.rpartition("-")[2])
    chosen = choose_lab_instances("grade", later, lambda _: False)
    assert name not in [i.name for i in chosen]
    assert len({i.slot for i in chosen}) == later


def test_no_free_slot_is_an_error() -> None:
    with pytest.raises(LabError, match="no 2 free lab slots"):
        choose_lab_instances("grade", 2, lambda _: True)


# -- the class summary -------------------------------------------------------------------

CHECKS = {"Speaks SMTP": 1.0, "Every line ends with CRLF": 1.0, "Bob receives it": 2.0}


def sample_summary(roles: list[str] | None = None) -> ClassSummary:
    good = GradeRow("alice", 4.0, 4.0, True, dict(CHECKS),
                    [ProgramEnd("sender-ua", 0, False)], run_id="r1")
    hung = GradeRow("bob", 1.0, 4.0, False,
                    {"Speaks SMTP": 1.0, "Every line ends with CRLF": 0.0, "Bob receives it": 0.0},
                    [ProgramEnd("sender-ua", None, True)], run_id="r2", attempts=2)
    broken = GradeRow.failed("carol", 4.0, "the run failed twice: lab gone", attempts=2)
    return ClassSummary("smtp-client", CHECKS, roles or ["sender-ua"], [good, hung, broken])


def test_the_csv_has_one_column_per_check_and_one_row_per_student(tmp_path: Path) -> None:
    sample_summary().write(tmp_path)
    with (tmp_path / "summary.csv").open(newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert list(rows[0]) == ["student", "score", "max_score", "passed", *CHECKS,
                             "exit_status", "timed_out", "attempts", "error"]
    assert [row["student"] for row in rows] == ["alice", "bob", "carol"]
    assert rows[0]["score"] == "4" and rows[0]["passed"] == "true"
    assert rows[1]["Every line ends with CRLF"] == "0"
    assert (rows[1]["exit_status"], rows[1]["timed_out"]) == ("", "true")
    assert rows[2]["score"] == "" and rows[2]["Speaks SMTP"] == ""
    assert rows[2]["passed"] == "" and "lab gone" in rows[2]["error"]


def test_several_graded_roles_each_get_their_program_columns() -> None:
    header = sample_summary(["sender-ua", "receiver-ua"]).csv_header()
    assert "sender-ua exit_status" in header and "receiver-ua timed_out" in header
    assert "exit_status" not in header


def test_the_json_summary_lists_checks_and_submissions(tmp_path: Path) -> None:
    sample_summary().write(tmp_path)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["scenario"] == "smtp-client" and summary["max_score"] == 4
    assert [c["name"] for c in summary["checks"]] == list(CHECKS)
    alice, bob, carol = summary["submissions"]
    assert alice["checks"] == CHECKS and alice["programs"][0]["exit_status"] == 0
    assert bob["programs"][0]["timed_out"] is True and bob["attempts"] == 2
    assert carol["score"] is None and carol["error"].startswith("the run failed")


# -- progress ----------------------------------------------------------------------------

class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_off_a_terminal_is_one_plain_line_per_submission() -> None:
    stream = io.StringIO()
    progress = GradingProgress(3, stream, clock=lambda: 0.0)
    progress.graded("alice", "4/4 points", passed=True, error=False)
    progress.graded("carol", "not graded: lab gone", passed=False, error=True)
    progress.tick()
    assert stream.getvalue().splitlines() == [
        "labctl: alice: 4/4 points (1/3 graded, 1 passed, 0 errors, 0:00)",
        "labctl: carol: not graded: lab gone (2/3 graded, 1 passed, 1 error, 0:00)",
    ]


def test_progress_at_a_terminal_redraws_one_line() -> None:
    stream, now = Terminal(), [0.0]
    progress = GradingProgress(2, stream, clock=lambda: now[0])
    now[0] = 65
    progress.graded("alice", "4/4 points", passed=True, error=False)
    progress.note("grade-1: bringing the lab up")
    progress.finish()
    text = stream.getvalue()
    assert "\n" not in text.split("grade-1")[0]  # the bar was redrawn, not printed again
    assert f"[{'#' * 12}{'.' * 12}] 1/2 graded, 1 passed, 0 errors, 1:05" in text
    assert text.endswith("1:05\n")
    assert elapsed_text(3723) == "1:02:03"


# -- bad input: refused before any lab starts -------------------------------------------

@pytest.fixture
def no_lab_starts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Run in tmp_path with a project folder where a local lab would leave its state
    (and MAILLAB_INSTANCE, which --lab sets, restored after)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(INSTANCE_ENV, "")  # remembered, so that undo removes what --lab sets
    monkeypatch.delenv(INSTANCE_ENV)
    monkeypatch.setenv("MAILLAB_PROJECT_DIR", str(tmp_path))
    yield tmp_path
    assert not (tmp_path / ".maillab").exists()


def grade(*argv: str) -> int:
    return main(["--backend", "local", "--lab", TEST_INSTANCE.name, "grade", *argv])


def test_a_missing_class_folder_exits_2(no_lab_starts: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert grade("missing", "--scenario", str(SCENARIO), "--role", ROLE) == 2
    assert "SUBMISSIONS_DIR missing: no such folder" in capsys.readouterr().err


def test_an_empty_class_folder_exits_2(no_lab_starts: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    (no_lab_starts / "class").mkdir()
    assert grade("class", "--scenario", str(SCENARIO), "--role", ROLE) == 2
    assert "holds no submission folder" in capsys.readouterr().err


def test_a_role_without_a_program_step_exits_2(no_lab_starts: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    make_class(no_lab_starts / "class", "alice")
    assert grade("class", "--scenario", str(NO_PROGRAM_SCENARIO), "--role", ROLE) == 2
    assert "has no program step for that role" in capsys.readouterr().err


@pytest.mark.parametrize(("role", "says"), [
    ("sender-ua", "expected ROLE=COMMAND"),
    ("sender-mta=python3 server.py", "sender-mta"),
])
def test_a_bad_role_exits_2(no_lab_starts: Path, capsys: pytest.CaptureFixture[str],
                            role: str, says: str) -> None:
    make_class(no_lab_starts / "class", "alice")
    assert grade("class", "--scenario", str(SCENARIO), "--role", role) == 2
    assert says in capsys.readouterr().err


def test_a_missing_scenario_or_bad_parallel_exits_2(
        no_lab_starts: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_class(no_lab_starts / "class", "alice")
    assert grade("class", "--scenario", "nope.yaml", "--role", ROLE) == 2
    with pytest.raises(SystemExit) as exit_info:
        grade("class", "--scenario", str(SCENARIO), "--role", ROLE, "--parallel", "0")
    assert exit_info.value.code == 2
    assert "from 1 to 16" in capsys.readouterr().err


def test_a_lab_name_too_long_for_the_numbers_exits_2(
        no_lab_starts: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_class(no_lab_starts / "class", "alice")
    status = main(["--backend", "local", "--lab", "x" * 40, "grade", "class", "--scenario",
                   str(SCENARIO), "--role", ROLE, "--out", "grades"])
    assert status == 2
    assert f"--lab {'x' * 40}: the labs are named" in capsys.readouterr().err
    assert not (no_lab_starts / "grades").exists()


# -- a worker whose lab never answers ----------------------------------------------------

class DeadLab(LabBackend):
    """A backend whose up and down only count, with no controller at its address."""

    runtime = Runtime.LOCAL

    def __init__(self, port: int) -> None:
        self.port, self.ups, self.downs = port, 0, 0
        self.instance = LabInstance.named("grade-1")

    def controller_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def up(self, progress: Progress) -> None:
        self.ups += 1

    def down(self, progress: Progress) -> None:
        self.downs += 1

    def status(self) -> dict[str, str]:
        return {}

    def shell(self, role: str, interactive: bool) -> ShellCommand:
        raise KeyError(role)


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port bound but not listening: connections to it are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def test_a_failed_run_is_retried_once_on_a_restarted_lab_then_the_worker_stops(
        tmp_path: Path, closed_port: int) -> None:
    folder = make_class(tmp_path / "class", "alice", "bob", "carol")
    job = GradingJob(load_scenario(SCENARIO), SCENARIO, [ROLE], tmp_path / "out")
    waiting: queue.Queue[Path] = queue.Queue()
    for submission in discover_submissions(folder, lambda _: None):
        waiting.put(submission)
    results: queue.Queue[GradeRow | None] = queue.Queue()
    lab = DeadLab(closed_port)
    notes: list[str] = []
    LabWorker(lab, job, waiting, results, threading.Event(), notes.append).run()
    alice, bob, done = (results.get_nowait() for _ in range(3))
    assert done is None and waiting.qsize() == 1  # carol is left for another lab
    assert alice is not None and bob is not None
    assert (alice.student, alice.attempts, alice.score) == ("alice", 2, None)
    assert "second time on a restarted lab" in alice.error and "unreachable" in alice.error
    assert lab.ups == 4  # each submission: up, then up again for the retry
    assert lab.downs == 5  # before each up, and at the end
    assert any("retrying on a restarted lab" in note for note in notes)
