# `labctl scenario schema` and `labctl scenario validate FILE...`, without a lab.
from __future__ import annotations

import json

import pytest

from labctl.cli import main
from labctl.scenarios import REGISTRY
from tests.conftest import DATA, PROJECT


def test_schema_prints_the_json_schema_with_every_check_type(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["scenario", "schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"] == "Scenario"
    assert set(schema["properties"]["checks"]["items"]["discriminator"]["mapping"]) == set(
        REGISTRY)


def test_validate_says_ok_per_good_file_and_one_line_per_bad_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    good = sorted((PROJECT / "scenarios").glob("*.yaml"))
    bad = [DATA / "scenarios" / "bad-expect.yaml", DATA / "scenarios" / "unknown-hop.yaml"]
    assert main(["scenario", "validate", *map(str, good)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in out] == [str(p) for p in good]
    assert all(": ok (" in line for line in out)
    assert main(["scenario", "validate", str(bad[0]), str(good[0]), str(bad[1])]) == 2
    captured = capsys.readouterr()
    errors = captured.err.splitlines()
    assert errors[0].startswith(f"labctl: {bad[0]}:11: checks[2].expect: ")
    assert errors[1].startswith(f"labctl: {bad[1]}:8: checks[0].hop: unknown hop")
    assert captured.out.startswith(f"{good[0]}: ok")
