# FastAPI dependencies shared by the routers, as Annotated aliases.
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from labctl.controller.state import ControllerState


def get_state(request: Request) -> ControllerState:
    """The app's ControllerState (set up by the lifespan)."""
    state: ControllerState = request.app.state.maillab
    return state


StateDep = Annotated[ControllerState, Depends(get_state)]


def no_run_in_progress(state: StateDep) -> None:
    """Refuse (409) to act on the lab while a graded run records it: the action's traffic
    would be graded with the run's, and a program being graded must not get the lab to
    do its work for it. While an exercise waits for the student, acting is the point."""
    waiting = any(run.state == "waiting" for run in state.scenario_runs.values())
    if state.run_lock.locked() and not waiting:
        raise HTTPException(409, "a graded run is in progress on this lab; "
                                 "try again when it has ended")


NotDuringRun = Depends(no_run_in_progress)
