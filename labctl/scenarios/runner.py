# Running a scenario: capture on, steps in order, capture off, checks graded -> Report.
#
# The runner only talks to the lab through LabActions. A lab-side failure (a send
# refused, a message never delivered, a capture that did not start) is recorded as a
# problem and the run goes on, so the report always comes back, with the failed checks
# saying why. Only cancellation (and programming errors in the runner itself) escape.
# Every mail server a server step took down is brought back up when the run ends,
# however it ends, so that one scenario never leaves the lab broken for the next; the
# same goes for the lab options its setup sets: each mail server takes them before the
# steps and gets its own back after the run. An exercise step waits for the student
# (a Student: an attended run) with the captures on, or runs its stand-in steps when
# nobody attends (student None: tests, CI). A program step runs the program that
# replaces a role (student mode), given with the run.
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping

from labctl.model import LAB
from labctl.model.options import LabOptions
from labctl.program_contract import ProgramRequest, ProgramSpec
from labctl.reports.model import ProgramReport, Report
from labctl.scenarios.actions import LabActions
from labctl.scenarios.checks import Evidence, evaluate
from labctl.scenarios.exercise import ExerciseOutcome, ExerciseStep, Student, outcome_note
from labctl.scenarios.program_step import ProgramStep
from labctl.scenarios.schema import FetchStep, Scenario, SendStep, Step, WaitDeliveredStep
from labctl.scenarios.server_steps import (
    FlushStep,
    SendRawStep,
    ServerStep,
    WaitMailboxStep,
    WaitQueuedStep,
)

log = logging.getLogger(__name__)

# Extra time given to an action's own timeout before the runner gives up on it.
WAIT_GRACE_S = 5.0
MAILBOX_POLL_S = 0.2  # how often wait_mailbox looks at the folder again


class StepFailed(Exception):
    """A step that did not do its job; the message says what happened."""


def _reason(exc: BaseException) -> str:
    """A one-line description of an exception."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def _send(index: int, step: SendStep, actions: LabActions, evidence: Evidence) -> None:
    sent = await actions.send(step.from_, step.to, step.subject, step.body, dict(step.headers),
                              step.via)
    evidence.sent[index] = sent


async def _wait(
    index: int, step: WaitDeliveredStep, actions: LabActions, evidence: Evidence
) -> None:
    sends = [
        i
        for i, s in enumerate(evidence.scenario.steps[:index])
        if isinstance(s.action, SendStep) and s.action.to == step.to
    ]
    sent = evidence.sent.get(sends[-1]) if sends else None
    if sent is None:
        raise StepFailed(f"skipped: the message to {step.to} was never sent")
    try:
        delivered = await asyncio.wait_for(
            actions.wait_delivered(step.to, sent.message_id, step.timeout_s),
            step.timeout_s + WAIT_GRACE_S,
        )
    except TimeoutError:
        delivered = False
    if not delivered:
        raise StepFailed(f"{sent.message_id} not delivered to {step.to} within {step.timeout_s:g}s")


async def _fetch(index: int, step: FetchStep, actions: LabActions, evidence: Evidence) -> None:
    # What the user agent says it fetched is not graded: the capture of its connections is.
    await actions.fetch(step.role, evidence.scenario.fetch_request(step))


async def _wait_queued(step: WaitQueuedStep, actions: LabActions) -> None:
    try:
        queued = await asyncio.wait_for(
            actions.wait_queued(step.role, step.messages, step.attempts, step.timeout_s),
            step.timeout_s + WAIT_GRACE_S,
        )
    except TimeoutError:
        queued = False
    if not queued:
        raise StepFailed(f"{step.messages} message(s) did not wait in the queue of {step.role} "
                         f"after {step.attempts} attempt(s) within {step.timeout_s:g}s")


async def _run_step(index: int, step: Step, actions: LabActions, evidence: Evidence) -> None:
    action = step.action
    if isinstance(action, SendStep):
        await _send(index, action, actions, evidence)
    elif isinstance(action, WaitDeliveredStep):
        await _wait(index, action, actions, evidence)
    elif isinstance(action, FetchStep):
        await _fetch(index, action, actions, evidence)
    elif isinstance(action, ServerStep):
        await actions.set_server(action.role, action.up)
    elif isinstance(action, WaitQueuedStep):
        await _wait_queued(action, actions)
    elif isinstance(action, FlushStep):
        await actions.flush(action.role)
    elif isinstance(action, WaitMailboxStep):
        await _wait_mailbox(action, actions)
    elif isinstance(action, ProgramStep):
        await _run_program(action, actions, evidence)
    elif isinstance(action, SendRawStep):
        await _send_raw(action, actions)


async def _wait_mailbox(step: WaitMailboxStep, actions: LabActions) -> None:
    held = 0
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(step.timeout_s):
            while (held := len(await actions.mailbox(step.address, step.folder))) < step.count:
                await asyncio.sleep(MAILBOX_POLL_S)
    if held < step.count:
        raise StepFailed(f"the {step.folder} folder of {step.address} held {held} message(s), "
                         f"not {step.count}, after {step.timeout_s:g}s")


async def _run_program(step: ProgramStep, actions: LabActions, evidence: Evidence) -> None:
    # How the program ended is reported, not graded: the checks read the captures.
    program = evidence.programs.get(step.role)
    if program is None:
        raise StepFailed(f"no program replaces {step.role} (give one with labctl run "
                         f"--role {step.role}=COMMAND; the step names no reference program)")
    request = ProgramRequest(command=program.command, bundle=program.bundle,
                             timeout_s=step.timeout_s)
    result = await actions.run_program(step.role, request)
    evidence.program_runs.append(ProgramReport.from_result(step.role, program.command, result))


async def _send_raw(step: SendRawStep, actions: LabActions) -> None:
    # The replies are graded from the capture (reply_code, dialog_sequence), not from here.
    session = await actions.send_raw(step.from_, step.to_role, list(step.lines))
    if not session.greeting:
        raise StepFailed(f"{step.to_role} closed the connection from {step.from_} unanswered")


def servers_taken_down(scenario: Scenario) -> list[str]:
    """The mail servers a server step of `scenario` takes down, each once."""
    named = [s.action.role for s in scenario.steps
             if isinstance(s.action, ServerStep) and not s.action.up]
    return sorted(set(named))


async def _bring_up(roles: list[str], when: str, actions: LabActions,
                   evidence: Evidence) -> None:
    """Bring mail servers `roles` up (a no-op for one that is up); a failure is a problem
    of the run, said with `when` ("before the run", "after the run")."""
    for role in roles:
        try:
            await actions.set_server(role, True)
        except Exception as exc:
            evidence.problems.append(f"{role} could not be brought up {when}: {_reason(exc)}")


async def _set_options(previous: dict[str, LabOptions], actions: LabActions,
                       evidence: Evidence) -> None:
    """Give every mail server the lab options the scenario's setup sets, noting in
    `previous` the options each had; a failure is a problem of the run."""
    setup = evidence.scenario.setup
    if not setup.option_values():
        return
    for server in LAB.mail_servers():
        try:
            previous[server.name] = await actions.options(server.name)
            await actions.set_options(server.name, setup)
        except Exception as exc:
            evidence.problems.append(f"the lab options {setup.option_values()} could not be "
                                     f"set on {server.name} before the run: {_reason(exc)}")


async def _restore_options(previous: dict[str, LabOptions], actions: LabActions,
                           evidence: Evidence) -> None:
    """Give each mail server in `previous` its options back; a failure is a problem."""
    for role, options in previous.items():
        try:
            await actions.set_options(role, options.as_changes())
        except Exception as exc:
            evidence.problems.append(f"the lab options of {role} could not be restored after "
                                     f"the run: {_reason(exc)}")


async def _read_stored_state(actions: LabActions, evidence: Evidence) -> None:
    """Read the mailbox folders and queues the checks ask for, as the steps left them."""
    scenario = evidence.scenario
    folders = {f for check in scenario.checks for f in check.folders_read(scenario)}
    for address, folder in sorted(folders):
        try:
            evidence.mailboxes[(address, folder)] = await actions.mailbox(address, folder)
        except Exception as exc:
            evidence.problems.append(f"the {folder} folder of {address} could not be read: "
                                     f"{_reason(exc)}")
    for role in sorted({role for check in scenario.checks for role in check.queues_read()}):
        try:
            evidence.queues[role] = await actions.queue(role)
        except Exception as exc:
            evidence.problems.append(f"the queue of {role} could not be read: {_reason(exc)}")


async def _attempt(where: str, index: int, step: Step, actions: LabActions,
                   evidence: Evidence) -> None:
    """Run one step (`where` names it: steps[2]); a failure is recorded, not raised."""
    log.info("scenario %s: %s %s", evidence.scenario.name, where, step.kind)
    try:
        await _run_step(index, step, actions, evidence)
    except StepFailed as exc:
        evidence.problems.append(f"{where} ({step.kind}) failed: {exc}")
    except Exception as exc:
        evidence.problems.append(f"{where} ({step.kind}) failed: {_reason(exc)}")


async def _exercise(index: int, step: ExerciseStep, actions: LabActions, evidence: Evidence,
                    student: Student | None) -> None:
    """Wait for the student, or run the stand-in when nobody attends; a timeout is a
    problem of the run (it explains the checks that fail), not a failure of it."""
    outcome: ExerciseOutcome = "stand-in"
    if student is None:
        for j, inner in enumerate(step.stand_in):
            await _attempt(f"steps[{index}].exercise.stand_in[{j}]", index, inner, actions,
                           evidence)
    else:
        log.info("scenario %s: steps[%d] exercise, waiting for the student",
                 evidence.scenario.name, index)
        outcome = "done" if await student.attend(index, step) else "timed out"
    note = outcome_note(index, step, outcome)
    log.info("scenario %s: %s", evidence.scenario.name, note)
    if outcome == "timed out":
        evidence.problems.append(note)


async def _run_steps(actions: LabActions, evidence: Evidence, student: Student | None) -> None:
    """Run the scenario's steps in order; a failed step is recorded and the run goes on."""
    for index, step in enumerate(evidence.scenario.steps):
        if isinstance(step.action, ExerciseStep):
            await _exercise(index, step.action, actions, evidence, student)
        else:
            await _attempt(f"steps[{index}]", index, step, actions, evidence)


async def run_scenario(scenario: Scenario, actions: LabActions, backend: str,
                       programs: Mapping[str, ProgramSpec] | None = None,
                       student: Student | None = None) -> Report:
    """Run `scenario` on the lab behind `actions` and grade it; lab failures fail checks.
    `programs`: what replaces a role in its program steps, by role (student mode). An
    exercise waits for `student`, or runs its stand-in when `student` is None."""
    evidence = Evidence(scenario=scenario, programs=dict(programs or {}))
    # a run starts from a lab whose mail servers all serve (one left down by hand with
    # `labctl server ROLE down` would fail it for a reason it does not grade)
    await _bring_up([server.name for server in LAB.mail_servers()], "before the run",
                    actions, evidence)
    try:
        await actions.start_capture()
    except Exception as exc:
        evidence.problems.append(f"capture did not start: {_reason(exc)}")
    options_before: dict[str, LabOptions] = {}
    try:
        await _set_options(options_before, actions, evidence)
        await _run_steps(actions, evidence, student)
        await _read_stored_state(actions, evidence)
        try:
            evidence.hops = list(await actions.stop_capture())
        except Exception as exc:
            evidence.problems.append(f"capture could not be stopped or analysed: {_reason(exc)}")
    finally:
        await _bring_up(servers_taken_down(scenario), "after the run", actions, evidence)
        await _restore_options(options_before, actions, evidence)
    for problem in evidence.problems:
        log.warning("scenario %s: %s", scenario.name, problem)
    results = [evaluate(check, evidence) for check in scenario.checks]
    return Report.build(scenario.name, backend, results, evidence.hops, evidence.program_runs)
