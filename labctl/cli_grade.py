# Batch grading: `labctl grade SUBMISSIONS_DIR --scenario FILE --role ROLE=COMMAND
# [--parallel N] [--out DIR]` grades every student's folder of SUBMISSIONS_DIR (its name
# is the student's id) as `labctl run --role ... --submission FOLDER` would, each on a lab
# of the grading's own (grade_labs.py), N labs at once, and writes the class summary
# (grade_summary.py) and each student's report into OUT. Bad input (a missing folder, no
# submissions, a bad --role) is refused before any lab starts. This module imports only
# what its parser needs; the rest is imported when grading starts (the CLI starts fast).
from __future__ import annotations

import argparse
import re
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from labctl.cli_programs import ProgramArgumentError, parse_role_option

if TYPE_CHECKING:  # imported when grading starts
    import queue
    from datetime import datetime

    from labctl.grade_labs import GradingJob, LabWorker
    from labctl.grade_progress import GradingProgress
    from labctl.grade_summary import GradeRow

DEFAULT_LAB_PREFIX = "grade"
MAX_PARALLEL = 16
INTERRUPTED_EXIT_STATUS = 130


class GradingInputError(ProgramArgumentError):
    """An argument of labctl grade that cannot be used (exit status 2, as a bad --role)."""


def _parallel(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_PARALLEL:
        raise argparse.ArgumentTypeError(f"{text!r}: give a number of labs from 1 to "
                                         f"{MAX_PARALLEL}")
    return int(text)


def add_grade_arguments(parser: argparse.ArgumentParser) -> None:
    """SUBMISSIONS_DIR, --scenario, --role (repeatable), --parallel and --out."""
    parser.add_argument("submissions", metavar="SUBMISSIONS_DIR", type=Path,
                        help="a folder holding one folder per student (its name is the "
                        "student's id)")
    parser.add_argument("--scenario", metavar="FILE", type=Path, required=True,
                        help="the scenario every submission is graded with")
    parser.add_argument("--role", action="append", required=True, metavar="ROLE=COMMAND",
                        help="the shell command that replaces ROLE, run in each student's "
                        "folder (repeatable; as in labctl run --role)")
    parser.add_argument("--parallel", metavar="N", type=_parallel, default=1,
                        help="grade on N labs at once (default 1); the labs are named "
                        f"{DEFAULT_LAB_PREFIX}-1, {DEFAULT_LAB_PREFIX}-2, ... (--lab NAME: "
                        "NAME-1, ...), skipping names whose slot a running lab holds")
    parser.add_argument("--out", metavar="DIR", type=Path, default=None,
                        help="where summary.csv, summary.json and each student's report go "
                        "(default: grades-SCENARIO-TIMESTAMP in the current folder)")


def discover_submissions(folder: Path, note: Callable[[str], None],
                         skip: Path | None = None) -> list[Path]:
    """The submission folders of `folder`, by name; files, hidden folders and `skip`
    (the output folder) are left out with a note. GradingInputError when there are none."""
    if not folder.is_dir():
        raise GradingInputError(f"SUBMISSIONS_DIR {folder}: "
                                f"{'not a folder' if folder.exists() else 'no such folder'}")
    found = []
    for entry in sorted(folder.iterdir()):
        if skip is not None and entry.resolve() == skip.resolve():
            continue
        if entry.name.startswith("."):
            note(f"{entry}: hidden, not a submission")
        elif not entry.is_dir():
            note(f"{entry}: a file, not a submission folder (ignored)")
        else:
            found.append(entry)
    if not found:
        raise GradingInputError(f"SUBMISSIONS_DIR {folder} holds no submission folder "
                                "(one folder per student)")
    return found


def default_out_dir(scenario_name: str, now: datetime) -> Path:
    """grades-<scenario name>-<UTC timestamp>, in the current folder."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", scenario_name).strip("-.") or "scenario"
    return Path(f"grades-{safe}-{now.strftime('%Y%m%d-%H%M%S')}")


def check_out_dir(out: Path) -> None:
    """GradingInputError unless `out` is a new or empty folder (nothing is overwritten)."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise GradingInputError(f"--out {out}: already exists and is not an empty folder "
                                "(choose another, nothing is overwritten)")


def validate_roles(job: GradingJob) -> None:
    """ProgramArgumentError for a bad --role, one the scenario has no program step for, or
    a reference program of the scenario that cannot be packed."""
    from labctl.cli_programs import reference_programs, replaced_roles

    given = replaced_roles(job.scenario, job.scenario_file, job.roles)
    reference_programs(job.scenario, job.scenario_file, set(given))


def cmd_grade(args: argparse.Namespace) -> int:
    """Grade every submission; 0 when each was graded, 1 when a run failed, 130 on Ctrl-C."""
    from datetime import UTC, datetime

    from labctl.grade_labs import GradingJob
    from labctl.grade_progress import GradingProgress
    from labctl.scenarios import load_scenario

    scenario = load_scenario(args.scenario)
    out: Path = args.out or default_out_dir(scenario.name, datetime.now(UTC))
    check_out_dir(out)
    job = GradingJob(scenario, args.scenario, list(args.role), out)
    validate_roles(job)
    notes: list[str] = []
    submissions = discover_submissions(args.submissions, notes.append, skip=out)
    progress = GradingProgress(len(submissions), sys.stderr)
    for note in notes:
        progress.note(note)
    rows, interrupted = _grade_all(job, submissions, args, progress)
    from labctl.grade_summary import ClassSummary, sorted_rows

    checks = {check.name: float(check.points) for check in scenario.checks}
    roles = list(dict.fromkeys(parse_role_option(text)[0] for text in args.role))
    summary = ClassSummary(scenario.name, checks, roles, sorted_rows(rows))
    written = summary.write(out)
    progress.note(f"class summary in {', '.join(map(str, written))}; each student's "
                  f"report in {out}/STUDENT/")
    if interrupted:
        return INTERRUPTED_EXIT_STATUS
    return 1 if any(row.error for row in rows) else 0


def _grade_all(job: GradingJob, submissions: list[Path], args: argparse.Namespace,
               progress: GradingProgress) -> tuple[list[GradeRow], bool]:
    """Every submission's row (an error row for those not graded) and whether Ctrl-C
    stopped the grading."""
    import queue

    from labctl.backends.select import choose_backend
    from labctl.grade_labs import LabWorker, choose_lab_instances, running_lab_check
    from labctl.grade_summary import GradeRow
    from labctl.model import InstanceError

    prefix = args.lab or DEFAULT_LAB_PREFIX
    backend_name = choose_backend(args.backend).runtime.value
    count = min(args.parallel, len(submissions))
    try:
        instances = choose_lab_instances(prefix, count, running_lab_check(backend_name))
    except InstanceError as error:
        raise GradingInputError(f"--lab {prefix}: the labs are named {prefix}-N: {error}") \
            from None
    job.out.mkdir(parents=True, exist_ok=True)
    waiting: queue.Queue[Path] = queue.Queue()
    for submission in submissions:
        waiting.put(submission)
    results: queue.Queue[GradeRow | None] = queue.Queue()
    stop = threading.Event()
    workers = [LabWorker(choose_backend(backend_name, instance), job, waiting, results, stop,
                         progress.note) for instance in instances]
    progress.note(f"grading {len(submissions)} submission(s) with {job.scenario_file} on "
                  f"{count} {backend_name} lab(s): {', '.join(i.name for i in instances)}")
    if backend_name == "local":
        progress.note("local labs run each program as you, in no container: grade code you "
                      "do not trust with --backend compose")
    rows, interrupted = _collect(workers, results, progress, stop)
    graded = {row.student for row in rows}
    reason = "interrupted" if interrupted else "no lab was left to grade it"
    rows += [GradeRow.failed(s.name, job.max_score, f"not graded: {reason}")
             for s in submissions if s.name not in graded]
    return rows, interrupted


def _collect(workers: list[LabWorker], results: queue.Queue[GradeRow | None],
             progress: GradingProgress, stop: threading.Event) -> tuple[list[GradeRow], bool]:
    """Run the workers, showing each row as it comes; on Ctrl-C take every lab down."""
    import queue

    threads = [threading.Thread(target=w.run, name=w.name, daemon=True) for w in workers]
    for thread in threads:
        thread.start()
    rows: list[GradeRow] = []
    running = len(threads)
    try:
        while running:
            try:
                row = results.get(timeout=1)
            except queue.Empty:
                progress.tick()
                continue
            if row is None:
                running -= 1
                continue
            rows.append(row)
            outcome = (f"not graded: {row.error}" if row.error
                       else f"{row.score:g}/{row.max_score:g} points")
            progress.graded(row.student, outcome, row.passed, bool(row.error))
        progress.finish()
        return rows, False
    except KeyboardInterrupt:
        stop.set()
        progress.finish()
        progress.note("interrupted: taking the labs down")
        for worker in workers:
            worker.take_down()  # a run in progress fails at once
        for thread in threads:
            thread.join()
        while not results.empty():
            row = results.get()
            if row is not None:
                rows.append(row)
        return rows, True
