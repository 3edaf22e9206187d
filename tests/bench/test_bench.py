# The benchmark suite runs: each benchmark at --size small (one repetition) reports
# every series with its figures and ratios in the JSON and the table. Figures are
# never checked against a speed: that is what the suite itself is for.
from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import pytest

from bench.__main__ import main
from bench.registry import BENCHMARKS
from tests.peers.dovecot import require_dovecot
from tests.peers.postfix import require_postfix

pytestmark = pytest.mark.bench
SERIES_FIELDS = {"label", "unit", "higher_is_better", "values", "median", "min", "max",
                 "ratio_to_baseline", "goal", "goal_met"}


# Whole labs (lab_benchmarks.py, parallel_labs.py): test_lab_benchmarks.py runs them.
SERVER_BENCHMARKS = sorted(name for name, benchmark in BENCHMARKS.items()
                           if benchmark.run.__module__ not in ("bench.lab_benchmarks",
                                                               "bench.parallel_labs"))


def run_small_and_check_report(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                               *options: str) -> dict[str, Any]:
    """Run benchmark `name` at --size small once (with `options`); check its JSON and
    table; its entry."""
    output = tmp_path / "results.json"
    status = main([name, "--size", "small", "--repeat", "1", "--json", str(output),
                   "--instance", f"bench-{secrets.token_hex(4)}", *options])
    assert status == 0
    report = json.loads(output.read_text())
    assert (report["size"], report["repeat"]) == ("small", 1)
    (result,) = report["benchmarks"]
    assert result["name"] == name
    labels = [series["label"] for series in result["series"]]
    assert result["baseline"] in labels and len(labels) >= 2
    for series in result["series"]:
        assert set(series) == SERIES_FIELDS
        assert len(series["values"]) == 1 and series["values"][0] > 0
        assert series["min"] <= series["median"] <= series["max"]
        assert series["ratio_to_baseline"] > 0
        assert (series["goal"] is None) == (series["goal_met"] is None)
    baseline = next(s for s in result["series"] if s["label"] == result["baseline"])
    assert baseline["ratio_to_baseline"] == 1.0
    table = capsys.readouterr().out
    assert all(label in table for label in labels)
    for series in result["series"]:
        if series["goal_met"] is False:
            assert f"goal missed: {name}, {series['label']}" in table
    for series in result["not_measured"]:
        assert f"{name}, {series['label']}: not measured: {series['reason']}" in table
    entry: dict[str, Any] = result
    return entry


@pytest.mark.parametrize("name", SERVER_BENCHMARKS)
def test_each_benchmark_runs_small_and_reports_its_series(
        name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    require_postfix()
    require_dovecot()
    run_small_and_check_report(name, tmp_path, capsys)


def test_missing_tools_are_named_with_their_package(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no smtp-source, no postfix
    assert main(["smtp-one-hop", "--size", "small", "--json", str(tmp_path / "r.json")]) == 2
    error = capsys.readouterr().err
    assert "smtp-source" in error and "Debian package(s) postfix " in error
    assert "dovecot" not in error  # smtp-one-hop's baseline is Postfix only
    assert "--setup" in error
    assert not (tmp_path / "r.json").exists()


def test_each_benchmark_asks_only_for_its_own_baseline(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no dovecot, no postfix on the PATH
    assert main(["imap-fetch", "--size", "small", "--json", str(tmp_path / "r.json")]) == 2
    error = capsys.readouterr().err
    assert "dovecot" in error and "dovecot-imapd" in error and "postfix" not in error


def test_unknown_benchmark_and_default_instance_are_refused(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["no-such-benchmark"]) == 2
    assert "no benchmark no-such-benchmark" in capsys.readouterr().err
    assert main(["smtp-one-hop", "--instance", "maillab"]) == 2
    assert "default lab" in capsys.readouterr().err


def test_list_names_every_benchmark(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--list"]) == 0
    listing = capsys.readouterr().out
    assert all(name in listing for name in ("smtp-one-hop", "smtp-two-hops",
                                            "delivery-latency"))
