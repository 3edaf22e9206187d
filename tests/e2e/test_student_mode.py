# Student mode end to end on a local lab: `labctl run scenarios/smtp-client.yaml --role
# sender-ua=COMMAND --submission DIR` runs a student's SMTP client in place of Alice's
# user agent and grades what it did on the wire. A correct client earns every point;
# each deliberately broken one (tests/data/programs/faulty-smtp-client) loses the
# points of the check that sees its fault, and a program that hangs is stopped at the
# step's timeout and graded on what it did. The lab records with its relays (no root
# needed), as a student's own machine would.
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from labctl import cli
from labctl.model.instance import INSTANCE_ENV
from tests.conftest import TEST_INSTANCE
from tests.e2e.local_labs import running_local_lab

pytestmark = pytest.mark.local
ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "smtp-client.yaml"
FAULTY = ROOT / "tests" / "data" / "programs" / "faulty-smtp-client"
DIALOG = "The whole dialog, in order (HELO to QUIT)"
WAITS = "Each reply awaited before the next command"
CRLF = "Every line ends with CRLF"
FINAL_DOT = 'The message ends with a lone "." and is accepted'
TO_ALICES = "Your program speaks SMTP to Alice's server"
RECEIVED = "Bob receives the message"


@pytest.fixture(autouse=True)
def in_the_test_lab(monkeypatch: pytest.MonkeyPatch) -> None:
    """labctl acts on the test lab (not --lab, which would stay set for later tests)."""
    monkeypatch.setenv(INSTANCE_ENV, TEST_INSTANCE.name)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    # a lab with its default options: the scenario's setup turns trust_lan on
    with running_local_lab(tmp_path_factory.mktemp("maillab-students"), "relay"):
        yield


def grade(capsys: pytest.CaptureFixture[str], scenario: Path, *options: str) -> dict[str, Any]:
    status = cli.main(["run", "--backend", "local", str(scenario), "--format", "json",
                       *options])
    report: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert status == (0 if report["passed"] else 1)
    return report


def failed(report: dict[str, Any]) -> set[str]:
    return {check["name"] for check in report["checks"] if not check["passed"]}


def test_the_reference_client_earns_every_point(lab: None,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    report = grade(capsys, SCENARIO)
    assert failed(report) == set()
    (program,) = report["programs"]
    assert (program["role"], program["exit_status"], program["timed_out"]) == \
        ("sender-ua", 0, False)
    assert "S: 221" in program["output"]


@pytest.mark.parametrize(("fault", "losing"), [
    ("correct", set()),
    ("helo-typo", {DIALOG}),
    ("no-final-dot", {FINAL_DOT, RECEIVED}),
    ("bare-lf", {CRLF}),
    ("no-wait", {WAITS}),
    ("straight-to-bob", {TO_ALICES, RECEIVED}),
])
def test_a_student_client_loses_the_points_of_its_fault(
        lab: None, capsys: pytest.CaptureFixture[str], fault: str, losing: set[str]) -> None:
    report = grade(capsys, SCENARIO, "--role", f"sender-ua=python3 client.py {fault}",
                   "--submission", str(FAULTY))
    assert losing <= failed(report), report["checks"]
    if not losing:
        assert report["passed"]
    assert report["programs"][0]["command"] == f"python3 client.py {fault}"


def test_a_program_that_hangs_is_stopped_and_graded(
        lab: None, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    scenario = tmp_path / "smtp-client-short.yaml"
    scenario.write_text(SCENARIO.read_text().replace("timeout_s: 30", "timeout_s: 2"))
    report = grade(capsys, scenario, "--role", "sender-ua=python3 client.py hang",
                   "--submission", str(FAULTY))
    (program,) = report["programs"]
    assert (program["exit_status"], program["timed_out"]) == (None, True)
    assert "thinking..." in program["output"]
    assert {TO_ALICES, RECEIVED} <= failed(report)
