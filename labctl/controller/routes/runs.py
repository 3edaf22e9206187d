# /runs: run a graded scenario on the lab and keep its report. One run at a time
# (ControllerState.run_lock), since a run's captures would record another's traffic.
#
# POST /runs waits for the report (the default), or with "wait": false returns the run's
# id at once and runs it in the background; GET /runs/{id} then says its state. An
# attended run ("attended": true, in the background) stops at each exercise step until
# POST /runs/{id}/continue (the student is done) or the exercise's timeout; an unattended
# run plays each exercise's stand-in. POST /runs/{id}/cancel ends a run where it is (its
# capture stopped, the servers it took down brought up) and frees the run lock.
from __future__ import annotations

import asyncio
import contextlib
import secrets
from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from labctl.controller.deps import StateDep
from labctl.controller.lab_actions import ControllerLabActions
from labctl.controller.state import ControllerState, RunState, ScenarioRun
from labctl.program_contract import ProgramSpec
from labctl.scenarios import ScenarioError, parse_scenario, run_scenario
from labctl.scenarios.exercise import Desk

router = APIRouter(prefix="/runs", tags=["runs"])


class RunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scenario: str  # the scenario file's YAML text
    source: str = "scenario.yaml"  # its file name, used in error messages
    # student mode: the program that replaces a role in the scenario's program steps
    programs: dict[str, ProgramSpec] = Field(default_factory=dict)
    wait: bool = True  # answer with the report; false: with the run's id, at once
    attended: bool = False  # exercises wait for the student (only with wait false)


class ExerciseWaiting(BaseModel):
    """The exercise an attended run waits on: the prompt to show and the time left."""

    step: int
    prompt: str
    timeout_s: float
    time_left_s: float


class RunPublic(BaseModel):
    id: str
    state: RunState = "done"
    report: dict[str, Any] | None = None  # the JSON report (see labctl.reports), once done
    waiting: ExerciseWaiting | None = None  # while the state is "waiting"
    error: str | None = None  # why a failed run failed


async def execute(state: ControllerState, run: ScenarioRun) -> None:
    """Run `run` once the run lock is free; its report goes to state.runs."""
    async with state.run_lock:
        run.phase = "running"
        actions = ControllerLabActions(state, label="run")
        try:
            report = await run_scenario(run.scenario, actions, state.plan.runtime.value,
                                        programs=run.programs, student=run.desk)
        except asyncio.CancelledError:
            run.phase = "cancelled"
            if actions.session is not None:  # the recording ends with the run
                with contextlib.suppress(Exception):
                    await state.captures.stop(actions.session.id)
            raise
        except Exception as exc:  # the runner's own bug: said, and the lock freed
            run.phase, run.error = "failed", f"{type(exc).__name__}: {exc}"
            return
    state.runs[run.id] = report.model_dump(mode="json")
    run.phase = "done"


def public(run_id: str, state: ControllerState) -> RunPublic:
    """What GET /runs/{id} says of a run; 404 for an unknown id."""
    run = state.scenario_runs.get(run_id)
    if run is None:
        if run_id not in state.runs:
            raise HTTPException(404, f"no run {run_id!r}")
        return RunPublic(id=run_id, report=state.runs[run_id])
    desk_waiting = run.desk.waiting if run.desk is not None else None
    waiting = None if desk_waiting is None or run.state != "waiting" else ExerciseWaiting(
        step=desk_waiting.index, prompt=desk_waiting.prompt, timeout_s=desk_waiting.timeout_s,
        time_left_s=round(desk_waiting.time_left_s(), 1))
    return RunPublic(id=run_id, state=run.state, report=state.runs.get(run_id),
                     waiting=waiting, error=run.error)


@router.post("", status_code=201)
async def create_run(body: RunCreate, state: StateDep) -> RunPublic:
    """Run a scenario and return its report (or, with wait false, its id at once)."""
    try:
        scenario = parse_scenario(body.scenario, body.source)
    except ScenarioError as error:
        raise HTTPException(422, str(error)) from None
    unused = sorted(set(body.programs) - {step.role for step in scenario.program_steps()})
    if unused:
        raise HTTPException(422, f"programs: {body.source} has no program step for "
                                 f"{', '.join(unused)}")
    if body.attended and body.wait:
        raise HTTPException(422, "attended: an attended run waits for the student; start "
                                 "it with wait false and follow it with GET /runs/{id}")
    run = ScenarioRun(id=f"run-{secrets.token_hex(4)}", scenario=scenario,
                      desk=Desk() if body.attended else None,
                      programs=body.programs)
    state.scenario_runs[run.id] = run
    run.task = asyncio.create_task(execute(state, run), name=run.id)
    if body.wait:
        await run.task
        if run.error is not None:
            raise HTTPException(500, f"run {run.id} failed: {run.error}")
    return public(run.id, state)


@router.get("")
def list_runs(state: StateDep) -> list[str]:
    return list(dict.fromkeys([*state.runs, *state.scenario_runs]))


@router.get("/{run_id}")
def get_run(run_id: str, state: StateDep) -> RunPublic:
    """A run's state: queued, running, waiting (for the student), done (with its report),
    failed or cancelled."""
    return public(run_id, state)


@router.post("/{run_id}/continue")
def continue_run(run_id: str, state: StateDep) -> RunPublic:
    """The student is done with the exercise the run waits on: grade on."""
    now = public(run_id, state)
    run = state.scenario_runs.get(run_id)
    if run is None or run.desk is None or not run.desk.proceed():
        raise HTTPException(409, f"run {run_id} is not waiting for the student "
                                 f"(its state: {now.state})")
    return public(run_id, state)


@router.post("/{run_id}/cancel")
async def cancel_run(run_id: str, state: StateDep) -> RunPublic:
    """End a run where it is, without a report (a no-op for a run that has ended)."""
    public(run_id, state)
    run = state.scenario_runs.get(run_id)
    task = run.task if run is not None else None
    if task is not None and not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return public(run_id, state)
