# The benchmark registry and what a benchmark reports.
#
# A benchmark is a function `run(context) -> list[Series]` registered under a name with
# @benchmark. It runs the measured thing AND its baseline(s) in the same run,
# context.repeat times each, and returns one Series per thing measured (the values of
# each repetition). The Series named as the benchmark's `baseline` is the one the
# others are compared with (ratio of medians, so 2.0 means twice the baseline's
# figure, whether that figure is msg/s or ms). A series may carry the Goal it should
# reach (its median, or its ratio to the baseline); the report says when it is missed.
# A series that could not be measured here says why (not_measured) and the report
# says so too.
# The suite's own tests run every benchmark at Size "small" (a few seconds); "full" is
# for real figures.
from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from labctl.model import Addressing, LabInstance, addressing

# The benchmarks' own lab instance: never the default lab's addresses and ports.
DEFAULT_INSTANCE = LabInstance.named("bench")


class Size(StrEnum):
    SMALL = "small"
    FULL = "full"


@dataclass(frozen=True)
class Context:
    """How a benchmark runs: repetitions, size, a scratch folder of its own, the lab
    instance whose loopback addresses its servers use (local runtime), and whether the
    rows of compose labs are measured."""

    repeat: int
    size: Size
    work: Path
    instance: LabInstance = DEFAULT_INSTANCE
    compose: bool = True  # measure the compose rows too (when a Docker engine answers)

    @property
    def plan(self) -> Addressing:
        """Addresses and ports of the instance's roles."""
        return addressing("local", instance=self.instance)

    def pick(self, small: int, full: int) -> int:
        """`small` or `full` by the run's size."""
        return small if self.size is Size.SMALL else full


@dataclass(frozen=True)
class Goal:
    """What a series should reach: its median (or, `of_baseline`, its ratio to the
    baseline) at most `limit` when `at_most`, else at least `limit`."""

    limit: float
    at_most: bool
    of_baseline: bool = False

    def describe(self, unit: str) -> str:
        """The goal as the report states it, e.g. "<= 1000 ms" or "<= 1.5x baseline"."""
        bound = f"{'<=' if self.at_most else '>='} {self.limit:g}"
        return f"{bound}x baseline" if self.of_baseline else f"{bound} {unit}"

    def met_by(self, value: float) -> bool:
        """True when `value` (a median or a ratio, as the goal says) reaches the goal."""
        return value <= self.limit if self.at_most else value >= self.limit


@dataclass
class Series:
    """One measured thing (ours or a baseline): a value per repetition."""

    label: str
    unit: str  # "msg/s", "ms"...
    higher_is_better: bool
    values: list[float] = field(default_factory=list)
    baseline: str | None = None  # compared with this series, not the benchmark's baseline
    goal: Goal | None = None
    not_measured: str | None = None  # why it has no values (say, "no Docker engine")

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def minimum(self) -> float:
        return min(self.values)

    @property
    def maximum(self) -> float:
        return max(self.values)


@dataclass(frozen=True)
class Benchmark:
    """A registered benchmark: its name, what it measures, which series is the baseline,
    and the programs its baselines need (requirements.PACKAGES names their packages)."""

    name: str
    description: str
    baseline: str
    run: Callable[[Context], list[Series]]
    needs: tuple[str, ...] = ()


@dataclass
class Result:
    """A benchmark's series after a run, with ratios to its baseline."""

    benchmark: Benchmark
    series: list[Series]

    def ratio(self, series: Series) -> float | None:
        """series' median / the baseline's median (None without a usable baseline)."""
        label = series.baseline or self.benchmark.baseline
        base = next((s for s in self.series if s.label == label), None)
        if base is None or not base.values or base.median == 0 or not series.values:
            return None
        return series.median / base.median

    def goal_met(self, series: Series) -> bool | None:
        """Whether `series` reaches its goal (None: no goal, or no ratio to judge by)."""
        if series.goal is None or not series.values:
            return None
        value = self.ratio(series) if series.goal.of_baseline else series.median
        return None if value is None else series.goal.met_by(value)

    def to_json(self) -> dict[str, object]:
        """The result as plain data (the JSON report's entry for this benchmark)."""
        return {
            "name": self.benchmark.name,
            "description": self.benchmark.description,
            "baseline": self.benchmark.baseline,
            "series": [
                {"label": s.label, "unit": s.unit, "higher_is_better": s.higher_is_better,
                 "values": s.values, "median": s.median, "min": s.minimum, "max": s.maximum,
                 "ratio_to_baseline": self.ratio(s),
                 "goal": s.goal.describe(s.unit) if s.goal else None,
                 "goal_met": self.goal_met(s)}
                for s in self.series if s.values
            ],
            "not_measured": [{"label": s.label, "reason": s.not_measured}
                             for s in self.series if not s.values and s.not_measured],
        }


BENCHMARKS: dict[str, Benchmark] = {}


def benchmark(name: str, description: str, baseline: str, needs: tuple[str, ...] = (),
              ) -> Callable[[Callable[[Context], list[Series]]], Callable[[Context], list[Series]]]:
    """Register the decorated function as benchmark `name` compared with series `baseline`,
    needing the programs `needs`."""

    def register(run: Callable[[Context], list[Series]]) -> Callable[[Context], list[Series]]:
        if name in BENCHMARKS:
            raise ValueError(f"benchmark {name!r} is registered twice")
        BENCHMARKS[name] = Benchmark(name, description, baseline, run, needs)
        return run

    return register
