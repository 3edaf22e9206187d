# /messages: inject a message (sent by a user agent, so the first link carries it),
# follow it (queue at the sender's server, mailbox at the recipient's), and /fetches:
# make a user agent fetch its mail. The bodies extend the agents' own contract
# (labctl.agent_contract), so what the API accepts is exactly what the agents take.
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel

from labctl.agent_contract import FetchRequest, FetchResult, SendRequest, SendResult
from labctl.controller.agents import AgentError
from labctl.controller.deps import NotDuringRun, StateDep
from labctl.controller.lab_actions import agent_fetch, agent_send

router = APIRouter(tags=["messages"])


class MessageCreate(SendRequest):
    from_role: str = "sender-ua"


class MessageStatus(BaseModel):
    message_id: str
    queued_at: list[dict[str, Any]]  # queue entries (role + entry) holding it
    delivered_to: list[str]  # mailboxes holding it


class FetchCreate(FetchRequest):
    role: str = "receiver-ua"


class FetchPublic(FetchResult):
    role: str


def _check_role(state: StateDep, role: str, program: str) -> None:
    try:
        found = state.plan.lab.role(role)
    except KeyError as error:
        raise HTTPException(404, str(error.args[0])) from None
    if found.program != program:
        raise HTTPException(422, f"role {role} is a {found.program}, not a {program}")


@router.post("/messages", status_code=201, dependencies=[NotDuringRun])
async def inject(body: MessageCreate, state: StateDep) -> SendResult:
    """Make a user agent compose and submit a message."""
    _check_role(state, body.from_role, "useragent")
    request = SendRequest.model_validate(body.model_dump(exclude={"from_role"}))
    try:
        result = await agent_send(state, body.from_role, request)
    except AgentError as error:
        raise HTTPException(error.status, str(error)) from None
    return result


@router.get("/messages/{message_id}")
async def follow(message_id: str, state: StateDep) -> MessageStatus:
    """Where the message is now: in which queues, in which mailboxes."""
    status = MessageStatus(message_id=message_id, queued_at=[], delivered_to=[])
    for server in state.plan.lab.mail_servers():
        try:
            queue = await state.agents.call(server.name, "GET", "/queue")
            for entry in queue:
                if entry.get("message_id") == message_id:
                    status.queued_at.append({"role": server.name, **entry})
            for user in state.plan.lab.users_of(server.domain or ""):
                box = await state.agents.call(server.name, "GET", f"/mailboxes/{user.address}")
                if any(m.get("message_id") == message_id for m in box):
                    status.delivered_to.append(user.address)
        except AgentError as error:
            raise HTTPException(502, str(error)) from None
    return status


@router.post("/fetches", dependencies=[NotDuringRun])
async def fetch(body: FetchCreate, state: StateDep) -> FetchPublic:
    """Make a user agent fetch its mail."""
    _check_role(state, body.role, "useragent")
    request = FetchRequest.model_validate(body.model_dump(exclude={"role"}))
    try:
        result = await agent_fetch(state, body.role, request)
    except AgentError as error:
        raise HTTPException(error.status, str(error)) from None
    return FetchPublic(role=body.role, **result.model_dump())
