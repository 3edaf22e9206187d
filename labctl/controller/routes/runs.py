# /runs: run a graded scenario on the lab and keep its report. One run at a time
# (ControllerState.run_lock), since a run's captures would record another's traffic.
from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from labctl.controller.deps import StateDep
from labctl.controller.lab_actions import ControllerLabActions
from labctl.program_contract import ProgramSpec
from labctl.scenarios import ScenarioError, parse_scenario, run_scenario

router = APIRouter(prefix="/runs", tags=["runs"])


class RunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scenario: str  # the scenario file's YAML text
    source: str = "scenario.yaml"  # its file name, used in error messages
    # student mode: the program that replaces a role in the scenario's program steps
    programs: dict[str, ProgramSpec] = Field(default_factory=dict)


class RunPublic(BaseModel):
    id: str
    report: dict[str, Any]  # the JSON report (see labctl.reports)


@router.post("", status_code=201)
async def create_run(body: RunCreate, state: StateDep) -> RunPublic:
    """Run a scenario and return its report."""
    try:
        scenario = parse_scenario(body.scenario, body.source)
    except ScenarioError as error:
        raise HTTPException(422, str(error)) from None
    unused = sorted(set(body.programs) - {step.role for step in scenario.program_steps()})
    if unused:
        raise HTTPException(422, f"programs: {body.source} has no program step for "
                                 f"{', '.join(unused)}")
    async with state.run_lock:
        actions = ControllerLabActions(state, label="run")
        report = await run_scenario(scenario, actions, state.plan.runtime.value, body.programs)
    run_id = f"run-{secrets.token_hex(4)}"
    state.runs[run_id] = report.model_dump(mode="json")
    return RunPublic(id=run_id, report=state.runs[run_id])


@router.get("")
def list_runs(state: StateDep) -> list[str]:
    return list(state.runs)


@router.get("/{run_id}")
def get_run(run_id: str, state: StateDep) -> RunPublic:
    if run_id not in state.runs:
        raise HTTPException(404, f"no run {run_id!r}")
    return RunPublic(id=run_id, report=state.runs[run_id])
