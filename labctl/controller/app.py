# The FastAPI controller: one router per resource (lab, messages, mail servers,
# captures, runs and their HTML pages); OpenAPI at /docs, served with no CDN (docs.py).
# The state lives on app.state for the app's life.
# A request that fails validation is a 422 naming each field, whatever it holds
# (even a lone surrogate, which plain JSON responses cannot encode).
from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from labctl.controller.docs import serve_docs_offline
from labctl.controller.routes import captures, lab, mailstore, messages, run_pages, runs
from labctl.controller.settings import ControllerSettings, get_settings
from labctl.controller.state import ControllerState


class AsciiJSONResponse(JSONResponse):
    """JSON with every non-ASCII character escaped: any Python string can be sent."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


async def validation_failed(request: Request, error: Exception) -> JSONResponse:
    """422 with FastAPI's usual list of errors (loc, msg, type, input)."""
    assert isinstance(error, RequestValidationError)
    errors = jsonable_encoder(error.errors(), custom_encoder={bytes: repr})
    return AsciiJSONResponse({"detail": errors}, status_code=422)


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
        docs_url=None,
        redoc_url=None,
    )
    serve_docs_offline(app)
    app.add_exception_handler(RequestValidationError, validation_failed)
    for module in (lab, messages, mailstore, captures, runs, run_pages):
        app.include_router(module.router)
    return app
