# The FastAPI controller: one router per resource (lab, messages, mail servers,
# captures, runs); OpenAPI at /docs. The state lives on app.state for the app's life.
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from labctl.controller.routes import captures, lab, mailstore, messages, runs
from labctl.controller.settings import ControllerSettings, get_settings
from labctl.controller.state import ControllerState


def create_app(settings: ControllerSettings | None = None) -> FastAPI:
    """The controller app for `settings` (default: from the environment)."""
    chosen = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = ControllerState.from_settings(chosen)
        app.state.maillab = state
        await state.open()
        try:
            yield
        finally:
            await state.close()

    app = FastAPI(
        title="maillab controller",
        description="Inject mail, capture each link, grade scenarios from the packets.",
        lifespan=lifespan,
    )
    for module in (lab, messages, mailstore, captures, runs):
        app.include_router(module.router)
    return app
