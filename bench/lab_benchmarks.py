# The lab-level benchmarks: whole labs (every role and the controller, as `labctl up`
# runs them) of an instance of the benchmark's own. Local labs (local_labs.py) are
# compared with bare Python interpreters or with the same lab doing the same work
# without the run around it; when a Docker engine answers (and --no-compose is not
# given), compose labs (compose_labs.py) with the same services as idle containers or
# the same plain work. Without an engine the compose rows say "not measured".
#
#   lab-up                `labctl up` until every role answers, then down; baseline: as
#                         many bare interpreters started at once, each until it answers
#                         one TCP connect.   [goal: local <= 1 s; compose <= 1.5x `docker
#                         compose up --wait` of idle containers, images built]
#   grade-basic-delivery  `labctl run scenarios/basic-delivery.yaml` (POST /runs, as
#                         cmd_run sends it) on a running lab; baseline: the same lab's
#                         POST /messages, wait until delivered, POP3 fetch through the
#                         API: the work without capture and grading.
#                         [goal: local <= 0.5 s, compose <= 3 s]
#   lab-memory            summed RSS of a running local lab's processes, idle and after
#                         N messages; baseline: as many idle bare interpreters. Compose:
#                         the containers' memory usage vs idle containers. [goal:
#                         compose <= 250 MB]
# labs-in-parallel is in parallel_labs.py (local labs only).
from __future__ import annotations

import time
from pathlib import Path

from bench.compose_labs import (
    compose_unmeasured,
    project_memory_bytes,
    running_compose_lab,
    running_idle_containers,
)
from bench.local_labs import (
    LAB_PROCESSES,
    interpreters_start_ms,
    lab_process_groups,
    resident_bytes,
    running_interpreters,
    running_lab,
)
from bench.registry import Context, Goal, Series, Size, benchmark
from labctl.cli_programs import programs_for_run, run_body
from labctl.client import ControllerClient
from labctl.reports.model import Report
from labctl.scenarios import load_scenario

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "basic-delivery.yaml"
BOB = "bob@hamburger.edu"
DELIVERY_TIMEOUT = 60.0
MEGABYTE = 1024 * 1024
IDLE_UP = "idle containers: compose up --wait"
PLAIN_COMPOSE = "plain send + delivery + POP3 fetch (compose)"
IDLE_MEMORY = "idle containers from the role image"


def ms_since(start: float) -> float:
    """ms from time.perf_counter() `start` until now."""
    return (time.perf_counter() - start) * 1000


def _compose_series(context: Context, label: str, unit: str, baseline: str,
                    goal: Goal | None = None) -> Series:
    """A compose row, compared with `baseline`; not measured without an engine."""
    return Series(label, unit, higher_is_better=False, baseline=baseline, goal=goal,
                  not_measured=compose_unmeasured(context))


@benchmark("lab-up", "labctl up until every role answers, then down (local; compose when "
           "Docker answers)", baseline="bare interpreters answering")
def lab_up(context: Context) -> list[Series]:
    """LocalBackend.up vs as many bare interpreters, each answering one connect; and
    ComposeBackend.up (images built) vs the same services as idle containers."""
    ours = Series("ours: labctl up (local)", "ms", higher_is_better=False,
                  goal=Goal(1000, at_most=True))
    bare = Series("bare interpreters answering", "ms", higher_is_better=False)
    idle = _compose_series(context, IDLE_UP, "ms", IDLE_UP)
    compose = _compose_series(context, "ours: labctl up (compose)", "ms", IDLE_UP,
                              Goal(1.5, at_most=True, of_baseline=True))
    for repetition in range(context.repeat):
        start = time.perf_counter()
        with running_lab(context.work / f"up-{repetition}", context.instance):
            ours.values.append(ms_since(start))
        bare.values.append(interpreters_start_ms(LAB_PROCESSES))
    if compose.not_measured is None:
        if context.size is Size.FULL:  # builds the images first: timed ups find them built
            with running_compose_lab(context.work, context.instance):
                pass
        for _ in range(context.repeat):
            start = time.perf_counter()
            with running_compose_lab(context.work, context.instance):
                compose.values.append(ms_since(start))
            start = time.perf_counter()
            with running_idle_containers(context.work, context.instance):
                idle.values.append(ms_since(start))
    return [ours, bare, compose, idle]


def graded_run(client: ControllerClient) -> Report:
    """`labctl run scenarios/basic-delivery.yaml`'s request (POST /runs), its report."""
    body = run_body(SCENARIO, programs_for_run(load_scenario(SCENARIO), SCENARIO))
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
           "labctl run scenarios/basic-delivery.yaml on a running lab (local; compose when "
           "Docker answers)",
           baseline="plain send + delivery + POP3 fetch")
def grade_basic_delivery(context: Context) -> list[Series]:
    """The graded run vs the same messages sent and fetched through the API alone."""
    ours = Series("ours: graded run (local)", "ms", higher_is_better=False,
                  goal=Goal(500, at_most=True))
    plain = Series("plain send + delivery + POP3 fetch", "ms", higher_is_better=False)
    compose = _compose_series(context, "ours: graded run (compose)", "ms", PLAIN_COMPOSE,
                              Goal(3000, at_most=True))
    plain_compose = _compose_series(context, PLAIN_COMPOSE, "ms", PLAIN_COMPOSE)
    with running_lab(context.work, context.instance) as lab:
        _graded_and_plain(ControllerClient(lab.controller_url()), context.repeat, ours, plain)
    if compose.not_measured is None:
        with running_compose_lab(context.work, context.instance) as compose_lab:
            _graded_and_plain(ControllerClient(compose_lab.controller_url()), context.repeat,
                              compose, plain_compose)
    return [ours, plain, compose, plain_compose]


def _graded_and_plain(client: ControllerClient, repeat: int, graded: Series,
                      plain: Series) -> None:
    """`repeat` times: basic-delivery's graded run, then the same work plainly."""
    for _ in range(repeat):
        start = time.perf_counter()
        _passed(graded_run(client))
        graded.values.append(ms_since(start))
        start = time.perf_counter()
        _plain_delivery(client)
        plain.values.append(ms_since(start))


def _send_and_wait(client: ControllerClient, count: int) -> None:
    """Send `count` messages to Bob through the API; return once all are in his INBOX."""
    for number in range(count):
        client.request("POST", "/messages", {"from_role": "sender-ua", "to": BOB,
                                             "subject": f"message {number}", "body": "Hi Bob"})
    deadline = time.monotonic() + DELIVERY_TIMEOUT
    while len(client.request("GET", f"/servers/receiver-mta/mailboxes/{BOB}")) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{count} messages not all in {BOB}'s INBOX")
        time.sleep(0.1)


def _megabytes(label: str) -> Series:
    return Series(label, "MB", higher_is_better=False)


@benchmark("lab-memory", "memory of a running lab, idle and after N messages (local: RSS; "
           "compose when Docker answers: containers' usage)", baseline="idle bare interpreters")
def lab_memory(context: Context) -> list[Series]:
    """A lab's resident memory vs as many idle bare interpreters."""
    count = context.pick(20, 200)
    idle, loaded = _megabytes("ours: idle lab"), _megabytes(f"ours: after {count} messages")
    bare = _megabytes("idle bare interpreters")
    for repetition in range(context.repeat):
        with running_lab(context.work / f"memory-{repetition}", context.instance) as lab:
            groups = lab_process_groups(lab)
            idle.values.append(resident_bytes(groups) / MEGABYTE)
            _send_and_wait(ControllerClient(lab.controller_url()), count)
            loaded.values.append(resident_bytes(groups) / MEGABYTE)
        with running_interpreters(LAB_PROCESSES) as interpreters:
            bare.values.append(resident_bytes(interpreters.process_groups) / MEGABYTE)
    idle_containers = _compose_series(context, IDLE_MEMORY, "MB", IDLE_MEMORY)
    compose = [_compose_series(context, label, "MB", IDLE_MEMORY, Goal(250, at_most=True))
               for label in ("ours: idle compose lab", f"ours: compose lab after {count} "
                                                        "messages")]
    if idle_containers.not_measured is None:
        for _ in range(context.repeat):
            _compose_memory(context, count, compose, idle_containers)
    return [idle, loaded, bare, *compose, idle_containers]


def _compose_memory(context: Context, count: int, lab_series: list[Series],
                    idle: Series) -> None:
    """One repetition: a compose lab's memory idle and after `count` messages, then the
    same services' as idle containers."""
    with running_compose_lab(context.work, context.instance) as lab:
        lab_series[0].values.append(project_memory_bytes(lab.instance.project_name) / MEGABYTE)
        _send_and_wait(ControllerClient(lab.controller_url()), count)
        lab_series[1].values.append(project_memory_bytes(lab.instance.project_name) / MEGABYTE)
    with running_idle_containers(context.work, context.instance) as containers:
        idle.values.append(project_memory_bytes(containers.project) / MEGABYTE)
