# The benchmark suite's report: a table on the terminal and a JSON file.
#
# The JSON file holds one object: `when` (UTC, ISO 8601), `size`, `repeat`, `host`
# (CPU count, Python version) and `benchmarks`, each Result.to_json() (name,
# description, baseline, and per series: label, unit, values, median, min, max,
# ratio_to_baseline).
from __future__ import annotations

import datetime
import json
import os
import platform
from collections.abc import Sequence
from pathlib import Path

from bench.registry import Result, Size

HEADER = ("benchmark", "series", "unit", "median", "min", "max", "x baseline")


def _number(value: float) -> str:
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"


def table(results: Sequence[Result]) -> str:
    """The results as an aligned text table, one row per series."""
    rows = [HEADER]
    for result in results:
        for series in result.series:
            if not series.values:
                continue
            ratio = result.ratio(series)
            rows.append((result.benchmark.name, series.label, series.unit,
                         _number(series.median), _number(series.minimum),
                         _number(series.maximum), "-" if ratio is None else f"{ratio:.2f}"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
             for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


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
