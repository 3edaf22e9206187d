# FastAPI dependencies shared by the routers, as Annotated aliases.
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from labctl.controller.state import ControllerState


def get_state(request: Request) -> ControllerState:
    """The app's ControllerState (set up by the lifespan)."""
    state: ControllerState = request.app.state.maillab
    return state


StateDep = Annotated[ControllerState, Depends(get_state)]
