# The exercise step: what the format accepts and refuses, and the runner on the in-memory
# lab attended (the student types by hand and says done, or the exercise times out) and
# unattended (the stand-in plays the student), with scenarios/spoofing-by-hand.yaml.
from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from labctl.reports import Report
from labctl.scenarios import ScenarioError, load_scenario, parse_scenario, run_scenario
from labctl.scenarios.exercise import Desk, ExerciseStep
from labctl.scenarios.schema import Scenario
from tests.scenarios.memory_lab import MemoryLab, send_raw

BY_HAND = Path(__file__).resolve().parents[2] / "scenarios" / "spoofing-by-hand.yaml"
FORGED = ["EHLO mallory.internet.test", "MAIL FROM:<alice@crepes.fr>",
          "RCPT TO:<bob@hamburger.edu>", "DATA", "From: alice@crepes.fr", "Subject: hi", "",
          "Hi Bob", ".", "QUIT"]
CHECK = "checks: [{name: c, points: 1, type: hop_exists, hop: mallory -> receiver-mta}]\n"


def by_hand(timeout_s: str = "900") -> Scenario:
    """spoofing-by-hand.yaml, its exercise waiting `timeout_s`, its mailbox wait short."""
    text = BY_HAND.read_text().replace("timeout_s: 900", f"timeout_s: {timeout_s}")
    return parse_scenario(text.replace("timeout_s: 30", "timeout_s: 0.2"), BY_HAND.name)


def failures(report: Report) -> dict[str, str]:
    return {c.name: c.output for c in report.checks if not c.passed}


async def until(condition: Callable[[], bool]) -> None:
    """Let the run's task go on until `condition` holds (the memory lab never blocks)."""
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the condition never held")


def test_the_library_scenario_loads_with_its_exercise() -> None:
    scenario = load_scenario(BY_HAND)
    assert [s.kind for s in scenario.steps] == ["fetch", "exercise", "wait_mailbox"]
    exercise = scenario.steps[1].action
    assert isinstance(exercise, ExerciseStep)
    assert "labctl shell mallory" in exercise.prompt and exercise.timeout_s == 900
    assert [s.kind for s in exercise.stand_in] == ["send_raw"]


@pytest.mark.parametrize(("steps", "error"), [
    ("- exercise: {prompt: p, stand_in: [{exercise: {prompt: q, stand_in: [{flush: {}}]}}]}",
     "x:3: steps[0].exercise.stand_in[0]: a stand-in holds ordinary steps, not another "
     "exercise"),
    ("- exercise: {prompt: p, stand_in: []}", "x:3: steps[0].exercise.stand_in: List should"),
    ("- exercise: {stand_in: [{flush: {}}]}", "x:3: steps[0].exercise.prompt: missing"),
    ("- exercise: {prompt: p, timeout_s: 0, stand_in: [{flush: {}}]}",
     "x:3: steps[0].exercise.timeout_s: Input should be greater than 0"),
    ("- exercise: {prompt: p, wait: 3, stand_in: [{flush: {}}]}",
     "x:3: steps[0].exercise.wait: unknown field (fields: prompt, timeout_s, stand_in)"),
    ("- exercise:\n    prompt: p\n    stand_in:\n      - flush: {}\n        server: {state: up}",
     "x:6: steps[0].exercise.stand_in[0]: a step has exactly one of the keys"),
    ("- exercise: {prompt: p, stand_in: [{send_raw: {from: dns, lines: [QUIT]}}]}",
     "x:3: steps[0].exercise.stand_in[0].send_raw.from: 'dns' is not a role one can act from"),
    ("- exercise: {prompt: p, stand_in: [{wait_delivered: {to: bob@hamburger.edu}}]}",
     "x:3: steps[0].exercise.stand_in[0].wait_delivered.to: no earlier send step to bob@"),
    ("- exercise: {prompt: p, stand_in: [{fetch: {part: '1'}}]}",
     "x:3: steps[0].exercise.stand_in[0].fetch.part: only with protocol imap, not pop3"),
])
def test_bad_exercises_are_refused_naming_file_line_and_field(steps: str, error: str) -> None:
    with pytest.raises(ScenarioError) as raised:
        parse_scenario(f"name: x\nsteps:\n{steps}\n{CHECK}", "x")
    assert str(raised.value).startswith(error)


def test_a_stand_in_send_is_no_send_step_a_later_wait_delivered_could_wait_for() -> None:
    steps = ("- exercise: {prompt: p, stand_in: [{send: {to: bob@hamburger.edu, subject: s, "
             "body: b}}]}\n- wait_delivered: {to: bob@hamburger.edu}")
    with pytest.raises(ScenarioError, match=r"steps\[1\].wait_delivered.to: no earlier send"):
        parse_scenario(f"name: x\nsteps:\n{steps}\n{CHECK}", "x")


async def test_unattended_the_stand_in_plays_the_student() -> None:
    lab = MemoryLab()
    report = await run_scenario(by_hand(), lab, "memory")
    assert failures(report) == {}
    assert (report.score, report.max_score) == (6, 6)
    assert [c[0] for c in lab.calls if c[0] != "set_server"] == [
        "start_capture", "fetch", "send_raw", "mailbox", "mailbox", "stop_capture"]


async def test_attended_the_run_waits_for_the_student_and_grades_what_they_typed() -> None:
    lab, desk = MemoryLab(), Desk()
    lab.mailboxes["bob@hamburger.edu"] = [b"Subject: old\r\n\r\nan earlier message\r\n"]
    run = asyncio.create_task(run_scenario(by_hand(), lab, "memory", student=desk))
    await until(lambda: desk.waiting is not None)
    assert desk.waiting is not None
    assert desk.waiting.index == 1 and "labctl shell mallory" in desk.waiting.prompt
    assert 0 < desk.waiting.time_left_s() <= 900
    assert lab.mailboxes["bob@hamburger.edu"] == []  # the fetch before it emptied the INBOX
    await send_raw(lab, "mallory", "receiver-mta", FORGED)  # typed by hand, not a step
    assert desk.proceed()
    report = await run
    assert failures(report) == {}
    assert ("send_raw", "mallory", "receiver-mta") not in lab.calls  # no stand-in ran
    assert desk.waiting is None and not desk.proceed()


async def test_attended_a_student_who_does_nothing_times_out_and_loses_every_point() -> None:
    lab, desk = MemoryLab(), Desk()
    report = await run_scenario(by_hand(timeout_s="0.05"), lab, "memory", student=desk)
    failed = failures(report)
    assert report.score == 0 and len(failed) == 4
    for output in failed.values():  # each failure says the exercise timed out
        assert "steps[1] (exercise) timed out after 0.05s: graded what was captured" in output
    assert "expected a SMTP conversation, observed none" in \
        failed["mallory talks SMTP straight to Bob's server, around Alice's"]
    assert "expected 1 message(s), observed 0" in failed["The forged message is in Bob's INBOX"]
    assert ("send_raw", "mallory", "receiver-mta") not in lab.calls


async def test_attended_a_student_who_forges_nothing_loses_the_forgery_points() -> None:
    lab, desk = MemoryLab(), Desk()
    run = asyncio.create_task(run_scenario(by_hand(), lab, "memory", student=desk))
    await until(lambda: desk.waiting is not None)
    honest = [line.replace("alice@crepes.fr", "mallory@mallory.internet.test")
              for line in FORGED]
    await send_raw(lab, "mallory", "receiver-mta", honest)
    desk.proceed()
    failed = failures(await run)
    assert list(failed) == ["The forged MAIL FROM is in the dialog, and accepted"]
    assert "MAIL FROM containing 'alice@crepes.fr'" in \
        failed["The forged MAIL FROM is in the dialog, and accepted"]


async def test_a_run_cancelled_while_it_waits_brings_its_servers_up_and_stops() -> None:
    lab, desk = MemoryLab(), Desk()
    scenario = parse_scenario(
        "name: x\nsteps:\n- server: {state: down}\n- exercise: {prompt: p, stand_in: "
        f"[{{flush: {{}}}}]}}\n{CHECK}", "x")
    run = asyncio.create_task(run_scenario(scenario, lab, "memory", student=desk))
    await until(lambda: desk.waiting is not None)
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    assert lab.down == set() and desk.waiting is None
