# The benchmark suite's report: a table on the terminal and a JSON file.
#
# The JSON file holds one object: `when` (UTC, ISO 8601), `size`, `repeat`, `host`
# (CPU count, Python version) and `benchmarks`, each Result.to_json() (name,
# description, baseline, and per series: label, unit, values, median, min, max,
# ratio_to_baseline, goal, goal_met; not_measured: label and reason of each series
# that could not be measured). The table's last column states each series' goal
# and whether it was met; a missed goal, and a series not measured, is said in a line
# of its own below it.
from __future__ import annotations

import datetime
import json
import os
import platform
from collections.abc import Sequence
from pathlib import Path

from bench.registry import Result, Series, Size

HEADER = ("benchmark", "series", "unit", "median", "min", "max", "x baseline", "goal")


def _number(value: float) -> str:
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"


def _goal(result: Result, series: Series) -> str:
    if series.goal is None:
        return "-"
    met = result.goal_met(series)
    verdict = "not judged" if met is None else ("met" if met else "MISSED")
    return f"{series.goal.describe(series.unit)}: {verdict}"


def table(results: Sequence[Result]) -> str:
    """The results as an aligned text table, one row per series, then the missed goals and
    the series not measured."""
    rows = [HEADER]
    notes = []
    for result in results:
        for series in result.series:
            if not series.values:
                if series.not_measured:
                    notes.append(f"{result.benchmark.name}, {series.label}: "
                                  f"not measured: {series.not_measured}")
                continue
            ratio = result.ratio(series)
            rows.append((result.benchmark.name, series.label, series.unit,
                         _number(series.median), _number(series.minimum),
                         _number(series.maximum), "-" if ratio is None else f"{ratio:.2f}",
                         _goal(result, series)))
            if series.goal is not None and result.goal_met(series) is False:
                figure = (f"{ratio:.2f}x baseline" if series.goal.of_baseline and ratio
                          else f"median {_number(series.median)} {series.unit}")
                notes.append(f"goal missed: {result.benchmark.name}, {series.label}: {figure}, "
                              f"goal {series.goal.describe(series.unit)}")
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
             for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in [*lines, *notes])


def write_json(path: Path, results: Sequence[Result], size: Size, repeat: int) -> None:
    """Write the results (and how they were obtained) to `path` as JSON."""
    report = {
        "when": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "size": size.value,
        "repeat": repeat,
        "host": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "benchmarks": [result.to_json() for result in results],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
