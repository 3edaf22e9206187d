# /servers: inspect a mail server's outgoing queue and its users' mailboxes.
from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Path

from labctl.agent_contract import Address
from labctl.controller.agents import AgentError
from labctl.controller.deps import StateDep

router = APIRouter(prefix="/servers", tags=["mail servers"])

MailboxAddress = Annotated[Address, Path(description="a mailbox address, e.g. bob@hamburger.edu")]


async def _ask(state: StateDep, role: str, path: str) -> Any:
    try:
        server = state.plan.lab.role(role)
    except KeyError as error:
        raise HTTPException(404, str(error.args[0])) from None
    if server.program != "mailserver":
        raise HTTPException(404, f"role {role} is not a mail server")
    try:
        return await state.agents.call(role, "GET", path)
    except AgentError as error:
        raise HTTPException(502, str(error)) from None


@router.get("/{role}/queue")
async def queue(role: str, state: StateDep) -> list[dict[str, Any]]:
    """The server's outgoing queue."""
    result: list[dict[str, Any]] = await _ask(state, role, "/queue")
    return result


@router.get("/{role}/mailboxes/{address}")
async def mailbox(role: str, address: MailboxAddress, state: StateDep) -> list[dict[str, Any]]:
    """The messages in one user's mailbox on the server."""
    result: list[dict[str, Any]] = await _ask(state, role, f"/mailboxes/{quote(address)}")
    return result
