# The lab-level benchmarks: whole local labs (every role and the controller, as
# `labctl up --backend local` runs them; local_labs.py), against bare Python
# interpreters or the same lab doing the same work without the run around it.
#
#   lab-up                `labctl up` (LocalBackend.up) until every role answers, then
#                         down; baseline: as many bare interpreters started at once, each
#                         until it answers one TCP connect.           [goal <= 1 s]
#   grade-basic-delivery  `labctl run scenarios/basic-delivery.yaml` (POST /runs, as
#                         cmd_run sends it) on a running lab; baseline: the same lab's
#                         POST /messages, wait until delivered, POP3 fetch through the
#                         API: the work without capture and grading. [goal <= 0.5 s]
#   lab-memory            summed RSS of a running lab's processes, idle and after N
#                         messages; baseline: as many idle bare interpreters.
#   labs-in-parallel      K labs brought up at once, each runs basic-delivery: how many
#                         pass, and the wall time; baseline: one lab alone. [goal: all K
#                         pass, K = 20 at full size]
# Only the local backend is measured here: the compose rows of the same table are not.
from __future__ import annotations

import concurrent.futures
import sys
import time
from pathlib import Path

from bench.local_labs import (
    LAB_PROCESSES,
    captures_in,
    interpreters_start_ms,
    lab_process_groups,
    local_backend,
    quiet,
    resident_bytes,
    running_interpreters,
    running_lab,
)
from bench.registry import Context, Goal, Series, benchmark
from labctl.backends.base import LabError
from labctl.backends.local import LocalBackend
from labctl.cli_programs import programs_for_run
from labctl.client import ControllerClient, ControllerError
from labctl.model import LabInstance
from labctl.reports.model import Report
from labctl.scenarios import load_scenario
from roles.mailserver.maildir_layout import mailbox_root

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "basic-delivery.yaml"
BOB = "bob@hamburger.edu"
DELIVERY_TIMEOUT = 60.0
MEGABYTE = 1024 * 1024


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000


@benchmark("lab-up", "labctl up (local) until every role answers, then down",
           baseline="bare interpreters answering")
def lab_up(context: Context) -> list[Series]:
    """LocalBackend.up vs as many bare interpreters, each answering one connect."""
    ours = Series("ours: labctl up (local)", "ms", higher_is_better=False,
                  goal=Goal(1000, at_most=True))
    bare = Series("bare interpreters answering", "ms", higher_is_better=False)
    for repetition in range(context.repeat):
        start = time.perf_counter()
        with running_lab(context.work / f"up-{repetition}", context.instance):
            ours.values.append(_ms(start))
        bare.values.append(interpreters_start_ms(LAB_PROCESSES))
    return [ours, bare]


def graded_run(client: ControllerClient) -> Report:
    """`labctl run scenarios/basic-delivery.yaml`'s request (POST /runs), its report."""
    scenario = load_scenario(SCENARIO)
    body = {"scenario": SCENARIO.read_text(encoding="utf-8"), "source": str(SCENARIO),
            "programs": programs_for_run(scenario, SCENARIO)}
    return Report.model_validate(client.request("POST", "/runs", body)["report"])


def _passed(report: Report) -> Report:
    if not report.passed:
        failed = [check.name for check in report.checks if not check.passed]
        raise RuntimeError(f"basic-delivery did not pass: {', '.join(failed)}")
    return report


def _plain_delivery(client: ControllerClient) -> None:
    """The graded run's work alone: send, wait until delivered, POP3 fetch (and delete)."""
    sent = client.request("POST", "/messages", {"from_role": "sender-ua", "to": BOB,
                                                "subject": "Dinner tonight", "body": "Hi Bob"})
    deadline = time.monotonic() + DELIVERY_TIMEOUT
    while BOB not in client.request("GET", f"/messages/{sent['message_id']}")["delivered_to"]:
        if time.monotonic() > deadline:
            raise TimeoutError(f"message {sent['message_id']} not delivered to {BOB}")
        time.sleep(0.005)
    fetched = client.request("POST", "/fetches", {"role": "receiver-ua", "protocol": "pop3",
                                                  "delete": True})
    if not fetched["messages"]:
        raise RuntimeError(f"{BOB}'s POP3 fetch found no message")


@benchmark("grade-basic-delivery",
           "labctl run scenarios/basic-delivery.yaml on a running local lab",
           baseline="plain send + delivery + POP3 fetch")
def grade_basic_delivery(context: Context) -> list[Series]:
    """The graded run vs the same messages sent and fetched through the API alone."""
    ours = Series("ours: graded run (local)", "ms", higher_is_better=False,
                  goal=Goal(500, at_most=True))
    plain = Series("plain send + delivery + POP3 fetch", "ms", higher_is_better=False)
    with running_lab(context.work, context.instance) as lab:
        client = ControllerClient(lab.controller_url())
        for _ in range(context.repeat):
            start = time.perf_counter()
            _passed(graded_run(client))
            ours.values.append(_ms(start))
            start = time.perf_counter()
            _plain_delivery(client)
            plain.values.append(_ms(start))
    return [ours, plain]


def _send_and_wait(client: ControllerClient, backend: LocalBackend, count: int) -> None:
    """Send `count` messages to Bob through the API; return once all are in his Maildir."""
    new = mailbox_root(backend.home / "data" / "receiver-mta" / "mailboxes", BOB) / "new"
    for number in range(count):
        client.request("POST", "/messages", {"from_role": "sender-ua", "to": BOB,
                                             "subject": f"message {number}", "body": "Hi Bob"})
    deadline = time.monotonic() + DELIVERY_TIMEOUT
    while not new.is_dir() or len(list(new.iterdir())) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{count} messages not all in {new}")
        time.sleep(0.05)


def _megabytes(label: str) -> Series:
    return Series(label, "MB", higher_is_better=False)


@benchmark("lab-memory", "summed RSS of a running local lab's processes, idle and after N "
           "messages", baseline="idle bare interpreters")
def lab_memory(context: Context) -> list[Series]:
    """A lab's resident memory vs as many idle bare interpreters."""
    count = context.pick(20, 200)
    idle, loaded = _megabytes("ours: idle lab"), _megabytes(f"ours: after {count} messages")
    bare = _megabytes("idle bare interpreters")
    for repetition in range(context.repeat):
        with running_lab(context.work / f"memory-{repetition}", context.instance) as lab:
            groups = lab_process_groups(lab)
            idle.values.append(resident_bytes(groups) / MEGABYTE)
            _send_and_wait(ControllerClient(lab.controller_url()), lab, count)
            loaded.values.append(resident_bytes(groups) / MEGABYTE)
        with running_interpreters(LAB_PROCESSES) as interpreters:
            bare.values.append(resident_bytes(interpreters.process_groups) / MEGABYTE)
    return [idle, loaded, bare]


def parallel_instances(count: int, taken: LabInstance) -> list[LabInstance]:
    """`count` instances bench-par-1, -2... whose slots differ (from `taken`'s too): two
    names of one slot would share addresses and ports."""
    used, instances, number = {0, taken.slot}, list[LabInstance](), 0
    while len(instances) < count:
        number += 1
        instance = LabInstance.named(f"bench-par-{number}")
        if instance.slot not in used:
            used.add(instance.slot)
            instances.append(instance)
    return instances


def _up_and_graded(backend: LocalBackend) -> bool:
    """Bring `backend`'s lab up and run basic-delivery on it: whether it passed."""
    try:
        backend.up(quiet)
        report = graded_run(ControllerClient(backend.controller_url()))
    except (LabError, ControllerError) as error:
        print(f"bench: lab {backend.instance.name}: {error}", file=sys.stderr)
        return False
    if not report.passed:
        print(f"bench: lab {backend.instance.name}: basic-delivery did not pass",
              file=sys.stderr)
    return report.passed


def labs_at_once(work: Path, instances: list[LabInstance]) -> tuple[int, float]:
    """Bring the labs of `instances` up at once, each runs basic-delivery: (how many
    passed, ms until the last finished). Every lab is taken down afterwards, whatever
    happened (Ctrl-C too)."""
    backends = [local_backend(work / instance.name, instance) for instance in instances]
    with captures_in(work / "captures"), \
            concurrent.futures.ThreadPoolExecutor(len(backends)) as pool:
        start = time.perf_counter()
        runs = [pool.submit(_up_and_graded, backend) for backend in backends]
        try:
            passed = sum(run.result() for run in runs)
            return passed, _ms(start)
        finally:  # once no lab is still coming up, so none comes up after its down
            concurrent.futures.wait(runs)
            list(pool.map(lambda backend: backend.down(quiet), backends))


@benchmark("labs-in-parallel", "K local labs brought up at once, each runs basic-delivery "
           "(K = 20 at full size)", baseline="one lab: up + basic-delivery")
def labs_in_parallel(context: Context) -> list[Series]:
    """K labs at once (how many pass, wall time) vs one lab alone."""
    count = context.pick(2, 20)
    alone = Series("one lab: up + basic-delivery", "ms", higher_is_better=False)
    together = Series(f"{count} labs at once: up + basic-delivery", "ms",
                      higher_is_better=False)
    one_passed = Series("one lab: passed", "labs", higher_is_better=True,
                        baseline="one lab: passed")
    passed = Series(f"{count} labs at once: passed", "labs", higher_is_better=True,
                    baseline=one_passed.label, goal=Goal(count, at_most=False))
    instances = parallel_instances(count, context.instance)
    for repetition in range(context.repeat):
        labs, elapsed = labs_at_once(context.work / f"alone-{repetition}", [context.instance])
        one_passed.values.append(labs)
        alone.values.append(elapsed)
        labs, elapsed = labs_at_once(context.work / f"together-{repetition}", instances)
        passed.values.append(labs)
        together.values.append(elapsed)
    return [alone, together, one_passed, passed]
