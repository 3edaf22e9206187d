# The lab-level benchmarks (bench/lab_benchmarks.py, bench/parallel_labs.py) run at
# --size small and report every series; they bring whole labs up (instances of their
# own), hence the markers `local` and, for the compose rows, `compose`. How they report
# a goal, and a row not measured, is checked on made-up results, since whether a real
# run meets its goal depends on the machine.
from __future__ import annotations

from pathlib import Path

import pytest

from bench.compose_labs import NO_ENGINE, compose_unmeasured, idle_compose_file
from bench.parallel_labs import parallel_instances
from bench.registry import BENCHMARKS, Context, Goal, Result, Series, Size
from bench.report import table
from labctl.model import LabInstance
from labctl.model.compose_file import IMAGE
from tests.bench.test_bench import run_small_and_check_report

LAB_BENCHMARKS = ("lab-up", "grade-basic-delivery", "lab-memory", "labs-in-parallel")
LOCAL_GOALS = {"lab-up": {"ours: labctl up (local)": "<= 1000 ms"},
               "grade-basic-delivery": {"ours: graded run (local)": "<= 500 ms"},
               "lab-memory": {},
               "labs-in-parallel": {"2 labs at once: passed": ">= 2 labs"}}
COMPOSE_GOALS = {"lab-up": {"ours: labctl up (compose)": "<= 1.5x baseline"},
                 "grade-basic-delivery": {"ours: graded run (compose)": "<= 3000 ms"},
                 "lab-memory": {"ours: idle compose lab": "<= 250 MB",
                                "ours: compose lab after 20 messages": "<= 250 MB"}}


def _goals(result: dict[str, object]) -> dict[str, str]:
    series = result["series"]
    assert isinstance(series, list)
    return {s["label"]: s["goal"] for s in series if s["goal"]}


@pytest.mark.bench
@pytest.mark.local
@pytest.mark.parametrize("name", LAB_BENCHMARKS)
def test_each_lab_benchmark_runs_small_on_local_labs_and_reports_its_series(
        name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_small_and_check_report(name, tmp_path, capsys, "--no-compose")
    assert _goals(result) == LOCAL_GOALS[name]
    unmeasured = {entry["label"] for entry in result["not_measured"]}
    assert unmeasured == {label for label in _compose_labels(name)}
    if name == "labs-in-parallel":
        (passed,) = [s for s in result["series"] if s["label"] == "2 labs at once: passed"]
        assert passed["values"] == [2]  # both labs passed basic-delivery


def _compose_labels(name: str) -> set[str]:
    """The compose rows' labels of benchmark `name` (from a run without an engine)."""
    return {"lab-up": {"ours: labctl up (compose)", "idle containers: compose up --wait"},
            "grade-basic-delivery": {"ours: graded run (compose)",
                                     "plain send + delivery + POP3 fetch (compose)"},
            "lab-memory": {*COMPOSE_GOALS["lab-memory"], "idle containers from the role image"},
            "labs-in-parallel": set()}[name]


@pytest.mark.bench
@pytest.mark.compose
@pytest.mark.usefixtures("docker_engine")
@pytest.mark.parametrize("name", ["lab-up", "grade-basic-delivery", "lab-memory"])
def test_each_lab_benchmark_measures_its_compose_rows_when_docker_answers(
        name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_small_and_check_report(name, tmp_path, capsys)
    assert result["not_measured"] == []
    labels = {series["label"] for series in result["series"]}
    assert _compose_labels(name) <= labels
    assert _goals(result) == {**LOCAL_GOALS[name], **COMPOSE_GOALS[name]}


def test_compose_rows_say_why_they_are_not_measured(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    context = Context(1, Size.SMALL, tmp_path)
    assert "--no-compose" in (compose_unmeasured(Context(1, Size.SMALL, tmp_path,
                                                         compose=False)) or "")
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    assert compose_unmeasured(context) == NO_ENGINE
    row = Series("ours: labctl up (compose)", "ms", higher_is_better=False,
                 not_measured=compose_unmeasured(context))
    base = Series(BENCHMARKS["lab-up"].baseline, "ms", higher_is_better=False, values=[5.0])
    result = Result(BENCHMARKS["lab-up"], [base, row])
    assert ("lab-up, ours: labctl up (compose): not measured: no Docker engine"
            in table([result]))
    assert result.to_json()["not_measured"] == [
        {"label": "ours: labctl up (compose)", "reason": NO_ENGINE}]


def test_idle_containers_are_the_labs_services_on_its_networks() -> None:
    instance = LabInstance.named("bench")
    idle = idle_compose_file(instance)
    services = idle["services"]
    assert set(services) == {"sender-ua", "sender-mta", "receiver-mta", "receiver-ua", "dns",
                             "mallory", "controller"}
    assert all(s["image"] == IMAGE and s["command"] == ["sleep", "infinity"]
               and s["healthcheck"]["test"] == ["CMD", "true"] for s in services.values())
    assert set(idle["networks"]) == {"alice-lan", "internet", "bob-lan", "mgmt"}
    assert idle["name"] != instance.project_name


def test_lab_benchmarks_are_registered() -> None:
    assert set(LAB_BENCHMARKS) <= set(BENCHMARKS)


def test_parallel_labs_get_distinct_slots_apart_from_the_benchmarks_own() -> None:
    taken = LabInstance.named("bench")
    instances = parallel_instances(20, taken)
    slots = {instance.slot for instance in instances}
    assert len(slots) == 20 and taken.slot not in slots and 0 not in slots
    assert all(instance.name.startswith("bench-par-") for instance in instances)


def test_a_missed_goal_is_said_plainly_and_a_met_one_is_marked() -> None:
    benchmark = BENCHMARKS["lab-up"]
    slow = Series("ours", "ms", higher_is_better=False, values=[1200.0],
                  goal=Goal(1000, at_most=True))
    ratio = Series("ours vs base", "ms", higher_is_better=False, values=[300.0],
                   goal=Goal(1.5, at_most=True, of_baseline=True))
    base = Series(benchmark.baseline, "ms", higher_is_better=False, values=[100.0])
    result = Result(benchmark, [slow, ratio, base])
    assert (result.goal_met(slow), result.goal_met(ratio), result.goal_met(base)) == (
        False, False, None)
    text = table([result])
    assert "goal missed: lab-up, ours: median 1200.0 ms, goal <= 1000 ms" in text
    assert "goal missed: lab-up, ours vs base: 3.00x baseline, goal <= 1.5x baseline" in text
    fast = Series("ours", "ms", higher_is_better=False, values=[900.0],
                  goal=Goal(1000, at_most=True))
    text = table([Result(benchmark, [fast, base])])
    assert "<= 1000 ms: met" in text and "goal missed" not in text
