# mallory's program: `python -m roles.mallory --role mallory --runtime compose`.
# It serves only the control agent: /health, and for the controller alone an SMTP session
# typed as at telnet from mallory's address (roles.smtp_session: spoofing, open relay)
# and a student's program replacing mallory (roles.student_program);
# people use the host with `labctl shell`.
from __future__ import annotations

import argparse
import asyncio

from fastapi import APIRouter, Depends

from labctl.agent_guard import AgentGuard
from labctl.model import Runtime, addressing, current_instance
from roles.control import agent_app, serve_agent
from roles.smtp_session import smtp_session_router
from roles.student_program import program_router


def main(argv: list[str] | None = None) -> None:
    """Parse arguments and serve the control agent on the management network."""
    parser = argparse.ArgumentParser(prog="python -m roles.mallory",
                                     description="maillab outside host (mallory)")
    parser.add_argument("--role", default="mallory")
    parser.add_argument("--runtime", choices=[r.value for r in Runtime], default="compose")
    args = parser.parse_args(argv)
    plan = addressing(args.runtime, instance=current_instance())
    app = agent_app(args.role)
    controller_only = APIRouter(dependencies=[Depends(AgentGuard.from_env())])
    controller_only.include_router(smtp_session_router(plan, args.role))
    controller_only.include_router(program_router(plan, args.role))
    app.include_router(controller_only)
    asyncio.run(serve_agent(app, plan, args.role))


if __name__ == "__main__":
    main()
