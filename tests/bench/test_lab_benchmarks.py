# The lab-level benchmarks (bench/lab_benchmarks.py) run at --size small and report
# every series; they bring whole local labs up (instances of their own), hence the
# marker `local` as well. How they report a goal is checked on a made-up result, since
# whether a real run meets its goal depends on the machine.
from __future__ import annotations

from pathlib import Path

import pytest

from bench.lab_benchmarks import parallel_instances
from bench.registry import BENCHMARKS, Goal, Result, Series
from bench.report import table
from labctl.model import LabInstance
from tests.bench.test_bench import run_small_and_check_report

LAB_BENCHMARKS = ("lab-up", "grade-basic-delivery", "lab-memory", "labs-in-parallel")


@pytest.mark.bench
@pytest.mark.local
@pytest.mark.parametrize("name", LAB_BENCHMARKS)
def test_each_lab_benchmark_runs_small_and_reports_its_series(
        name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_small_and_check_report(name, tmp_path, capsys)
    goals = {series["label"]: series["goal"] for series in result["series"] if series["goal"]}
    if name == "labs-in-parallel":
        assert goals == {"2 labs at once: passed": ">= 2 labs"}
        (passed,) = [s for s in result["series"] if s["label"] == "2 labs at once: passed"]
        assert passed["values"] == [2]  # both labs passed basic-delivery
    elif name == "lab-memory":
        assert not goals
    else:
        assert list(goals.values()) == [{"lab-up": "<= 1000 ms",
                                         "grade-basic-delivery": "<= 500 ms"}[name]]


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
