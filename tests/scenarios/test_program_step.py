# The program step (student mode) in the runner, on the in-memory lab: the program given
# with the run reaches the role's agent with the step's timeout, how it ended goes into
# the report, a step with no program fails saying how to give one, and what a program
# says of itself never earns a point: the checks read the capture.
from __future__ import annotations

import base64
from pathlib import Path

import pytest

from labctl.cli_programs import ProgramArgumentError, parse_role_option, programs_for_run
from labctl.program_contract import ProgramSpec
from labctl.scenarios import load_scenario, parse_scenario, run_scenario
from tests.scenarios.memory_lab import MemoryLab

SMTP_CLIENT = Path(__file__).resolve().parents[2] / "scenarios" / "smtp-client.yaml"
SCENARIO = """
name: student-client
steps:
  - program: {role: sender-ua, timeout_s: 7}
checks:
  - {name: SMTP to Alice's server, points: 1, type: hop_protocol,
     hop: sender-ua -> sender-mta, expect: SMTP}
"""
PROGRAM = ProgramSpec(command="python3 client.py", bundle=base64.b64encode(b"x").decode())


async def test_the_program_runs_with_the_steps_timeout_and_its_ending_is_reported() -> None:
    lab = MemoryLab()
    lab.program_sessions["sender-ua"] = ("sender-mta", ["HELO pc", "QUIT"])
    report = await run_scenario(parse_scenario(SCENARIO, "student-client.yaml"), lab, "memory",
                                {"sender-ua": PROGRAM})
    ((role, request),) = lab.program_requests
    assert (role, request.command, request.bundle, request.timeout_s) == \
        ("sender-ua", PROGRAM.command, PROGRAM.bundle, 7)
    assert report.passed
    (program,) = report.programs
    assert (program.role, program.exit_status, program.output) == ("sender-ua", 0, "all good")


async def test_a_program_that_says_it_succeeded_but_sent_nothing_earns_nothing() -> None:
    scenario = parse_scenario(SCENARIO, "student-client.yaml")
    report = await run_scenario(scenario, MemoryLab(), "memory", {"sender-ua": PROGRAM})
    assert report.programs[0].exit_status == 0
    assert (report.passed, report.score) == (False, 0)


async def test_a_program_step_without_a_program_fails_saying_how_to_give_one() -> None:
    lab = MemoryLab()
    report = await run_scenario(parse_scenario(SCENARIO, "student-client.yaml"), lab, "memory")
    assert lab.program_requests == [] and report.programs == []
    assert "no program replaces sender-ua" in report.checks[0].output
    assert "--role sender-ua=COMMAND" in report.checks[0].output


def test_the_cli_sends_the_reference_program_unless_a_role_is_replaced(tmp_path: Path) -> None:
    scenario = load_scenario(SMTP_CLIENT)
    reference = programs_for_run(scenario, SMTP_CLIENT)
    assert reference["sender-ua"]["command"] == "python3 smtp_client.py"
    (tmp_path / "mine.py").write_text("print('hello')\n")
    mine = programs_for_run(scenario, SMTP_CLIENT, ["sender-ua=python3 mine.py"], tmp_path)
    assert mine["sender-ua"]["command"] == "python3 mine.py"
    assert mine["sender-ua"]["bundle"] != reference["sender-ua"]["bundle"]


@pytest.mark.parametrize(("option", "why"), [
    ("sender-ua", "expected ROLE=COMMAND"),
    ("sender-ua=", "expected ROLE=COMMAND"),
    ("sender-mta=python3 a.py", "not a role one can act from"),
    ("nobody=python3 a.py", "not a role one can act from"),
    ("sender-ua=image:student/client", "with an image is not supported"),
])
def test_a_bad_role_option_says_what_is_wrong(option: str, why: str) -> None:
    with pytest.raises(ProgramArgumentError, match=why):
        parse_role_option(option)


def test_a_role_the_scenario_does_not_replace_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ProgramArgumentError, match="no program step for that role"):
        programs_for_run(load_scenario(SMTP_CLIENT), SMTP_CLIENT, ["mallory=./spoof"],
                         tmp_path)


def test_a_missing_folder_is_named_with_where_it_was_given(tmp_path: Path) -> None:
    scenario = load_scenario(SMTP_CLIENT)
    with pytest.raises(ProgramArgumentError, match=r"--submission: .* is not a folder"):
        programs_for_run(scenario, SMTP_CLIENT, ["sender-ua=python3 a.py"], tmp_path / "no")
    moved = tmp_path / "smtp-client.yaml"  # the scenario without its programs/ folder
    moved.write_text(SMTP_CLIENT.read_text())
    with pytest.raises(ProgramArgumentError,
                       match="the reference program of the sender-ua program step"):
        programs_for_run(load_scenario(moved), moved)
