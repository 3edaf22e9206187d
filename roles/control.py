# The control agent of roles that offer nothing but their own health (and what a role
# adds to it): served on the management network only, like every agent, so the
# controller and the container healthcheck reach it without touching a lab link.
from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from labctl.model import MGMT, Addressing


def agent_app(role: str) -> FastAPI:
    """A control agent answering /health for `role`; the caller may add routes."""
    app = FastAPI(title=f"maillab {role} control agent")

    @app.get("/health")
    def health() -> dict[str, str]:
        """Liveness of the role."""
        return {"role": role, "status": "ok"}

    return app


async def serve_agent(app: FastAPI, plan: Addressing, role: str) -> None:
    """Serve `app` on the role's management address until SIGTERM/SIGINT."""
    config = uvicorn.Config(app, host=plan.address(role, MGMT), port=plan.port(role, "control"),
                            log_level="warning")
    await uvicorn.Server(config).serve()
