# The labs a class's grading runs on (labctl grade): each worker brings up a lab
# instance of its own, grades submissions one after the other on it (POST /runs with
# the student's programs, as `labctl run --role` does) and takes it down at the end,
# also when the grading is interrupted or fails.
#
# Lab names are PREFIX-1, PREFIX-2, ...; a name is skipped when a running lab holds its
# slot (a lab of that name, or of another name hashing to the same slot) or when another
# chosen name has its slot, so grading never takes over, nor takes down, a lab it did
# not start. A run that fails (the lab broke) is retried once on a freshly restarted
# lab; a worker whose lab fails two submissions in a row stops and leaves the rest to
# the others.
from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from labctl.cli_programs import ProgramArgumentError
from labctl.grade_summary import GradeRow
from labctl.model import LabInstance

if TYPE_CHECKING:
    from labctl.backends.base import LabBackend
    from labctl.client import ControllerClient
    from labctl.reports.model import Report
    from labctl.scenarios.schema import Scenario

MAX_SKIPPED_NAMES = 200
REPORT_JSON = "report.json"
REPORT_HTML = "report.html"
FAILURES_BEFORE_GIVING_UP = 2  # submissions in a row whose runs failed on one lab
Note = Callable[[str], None]


def choose_lab_instances(prefix: str, count: int,
                         in_use: Callable[[LabInstance], bool]) -> list[LabInstance]:
    """`count` instances PREFIX-1, PREFIX-2, ... on distinct slots that `in_use` says
    no running lab holds; InstanceError for a bad prefix, LabError when too few are free."""
    from labctl.backends.base import LabError

    chosen: list[LabInstance] = []
    for number in range(1, count + MAX_SKIPPED_NAMES + 1):
        instance = LabInstance.named(f"{prefix}-{number}")
        if instance.slot in {c.slot for c in chosen} or in_use(instance):
            continue
        chosen.append(instance)
        if len(chosen) == count:
            return chosen
    raise LabError(f"no {count} free lab slots among {prefix}-1 ... "
                       f"{prefix}-{count + MAX_SKIPPED_NAMES}: take some labs down")


def running_lab_check(backend_name: str) -> Callable[[LabInstance], bool]:
    """in_use for choose_lab_instances: a running lab holds the instance's slot."""
    from labctl.backends.base import slot_holder
    from labctl.backends.select import choose_backend

    def in_use(instance: LabInstance) -> bool:
        return (slot_holder(instance) is not None
                or choose_backend(backend_name, instance).is_up())

    return in_use


@dataclass(frozen=True)
class GradingJob:
    """What every submission is graded with, and where the results go."""

    scenario: Scenario
    scenario_file: Path
    roles: Sequence[str]  # the --role ROLE=COMMAND options
    out: Path

    @property
    def max_score(self) -> float:
        return float(sum(check.points for check in self.scenario.checks))

    def run_body(self, programs: dict[str, Any]) -> dict[str, Any]:
        """The POST /runs body of one submission's run."""
        from labctl.cli_programs import run_body

        return run_body(self.scenario_file, programs)


def save_student_files(client: ControllerClient, report: Report, run_id: str,
                       folder: Path) -> None:
    """report.json, report.html and the run's pcaps (which the page links to) in `folder`."""
    from labctl.cli_run import save_run_page

    folder.mkdir(parents=True, exist_ok=True)
    (folder / REPORT_JSON).write_text(report.to_json() + "\n", encoding="utf-8")
    save_run_page(report, run_id, str(folder / REPORT_HTML))
    for name in dict.fromkeys(Path(hop.pcap).name for hop in report.hops):
        pcap = client.content(f"/runs/{quote(run_id, safe='')}/{quote(name, safe='')}")
        (folder / name).write_bytes(pcap)


class LabWorker:
    """Grades submissions from a shared queue on one lab of its own."""

    def __init__(self, backend: LabBackend, job: GradingJob, submissions: queue.Queue[Path],
                 results: queue.Queue[GradeRow | None], stop: threading.Event,
                 note: Note) -> None:
        self.backend, self.job, self.stop = backend, job, stop
        self.submissions, self.results = submissions, results
        self.name = backend.instance.name
        self._note = note
        self._fresh = True  # the lab must be (re)started before the next run

    def note(self, message: str) -> None:
        self._note(f"{self.name}: {message}")

    def run(self) -> None:
        """Grade submissions until none is left (or stop is set), then take the lab down;
        put each row, then None, on the results queue."""
        failures = 0
        try:
            while not self.stop.is_set() and failures < FAILURES_BEFORE_GIVING_UP:
                try:
                    submission = self.submissions.get_nowait()
                except queue.Empty:
                    break
                row = self.grade(submission)
                failures = failures + 1 if row.error else 0
                self.results.put(row)
            if failures >= FAILURES_BEFORE_GIVING_UP:
                self.note(f"{failures} runs in a row failed: this lab grades no more")
        finally:
            self.take_down()
            self.results.put(None)

    def take_down(self) -> None:
        """Stop and remove the lab (no error when it is already down)."""
        from labctl.backends.base import LabError

        try:
            self.backend.down(lambda _: None)
        except LabError as error:
            self.note(f"could not take the lab down: {error}")

    def grade(self, submission: Path) -> GradeRow:
        """The submission's row: its run's grade, or the error of its second attempt."""
        from labctl.backends.base import LabError
        from labctl.client import ControllerError

        student, error = submission.name, ""
        for attempt in (1, 2):
            try:
                return self._run(submission, attempt)
            except ProgramArgumentError as problem:  # the folder itself: no retry helps
                return GradeRow.failed(student, self.job.max_score, str(problem), attempt)
            except (LabError, ControllerError, OSError) as problem:
                error, self._fresh = str(problem), True
            if self.stop.is_set():
                return GradeRow.failed(student, self.job.max_score,
                                       f"interrupted: {error}", attempt)
            if attempt == 1:
                self.note(f"{student}: the run failed ({error}); retrying on a restarted lab")
        return GradeRow.failed(student, self.job.max_score,
                               f"the run failed twice, the second time on a restarted lab: "
                               f"{error}", attempts=2)

    def _run(self, submission: Path, attempt: int) -> GradeRow:
        from labctl.cli import ensure_up
        from labctl.cli_programs import programs_for_run
        from labctl.client import ControllerClient
        from labctl.reports.model import Report

        programs = programs_for_run(self.job.scenario, self.job.scenario_file,
                                    self.job.roles, submission)
        if self._fresh:
            self.take_down()
            self.note("bringing the lab up")
            self.backend.up(self.note)
            self._fresh = False
        else:
            ensure_up(self.backend, self.note)
        client = ControllerClient(self.backend.controller_url())
        run = client.request("POST", "/runs", self.job.run_body(programs))
        report = Report.model_validate(run["report"])
        save_student_files(client, report, run["id"], self.job.out / submission.name)
        return GradeRow.from_report(submission.name, report, run["id"], attempt)
