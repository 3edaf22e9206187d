# /servers: inspect a mail server's outgoing queue and its users' mailboxes, and act on
# the queue (retry everything now, delete one message). The mail server's control agent
# does the work; the wire contract of the queue is labctl.model.mail_queue.
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path

from labctl.controller.agents import AgentError
from labctl.controller.deps import StateDep
from labctl.model.mail_queue import QUEUE_ID_PATTERN, DeleteResult, FlushResult, QueueEntry

router = APIRouter(prefix="/servers", tags=["mail servers"])
QueueId = Annotated[str, Path(pattern=QUEUE_ID_PATTERN, description="a queue id")]
PASSED_ON = (404, 409)  # the agent's answers that are the caller's business, not a 502


async def _ask(state: StateDep, role: str, method: str, path: str) -> Any:
    try:
        server = state.plan.lab.role(role)
    except KeyError as error:
        raise HTTPException(404, str(error.args[0])) from None
    if server.program != "mailserver":
        raise HTTPException(404, f"role {role} is not a mail server")
    try:
        return await state.agents.call(role, method, path)
    except AgentError as error:
        status = error.status if error.status in PASSED_ON else 502
        raise HTTPException(status, str(error)) from None


@router.get("/{role}/queue")
async def queue(role: str, state: StateDep) -> list[QueueEntry]:
    """The server's outgoing queue, oldest first."""
    entries = await _ask(state, role, "GET", "/queue")
    return [QueueEntry.model_validate(entry) for entry in entries]


@router.get("/{role}/queue/failed")
async def failed(role: str, state: StateDep) -> list[QueueEntry]:
    """Messages the server bounced, with their errors."""
    entries = await _ask(state, role, "GET", "/queue/failed")
    return [QueueEntry.model_validate(entry) for entry in entries]


@router.post("/{role}/queue/flush")
async def flush(role: str, state: StateDep) -> FlushResult:
    """Retry every waiting message now."""
    return FlushResult.model_validate(await _ask(state, role, "POST", "/queue/flush"))


@router.delete("/{role}/queue/{queue_id}")
async def delete(role: str, queue_id: QueueId, state: StateDep) -> DeleteResult:
    """Remove one message from the queue without delivering it."""
    return DeleteResult.model_validate(await _ask(state, role, "DELETE", f"/queue/{queue_id}"))


@router.get("/{role}/mailboxes/{address}")
async def mailbox(role: str, address: str, state: StateDep) -> list[dict[str, Any]]:
    """The messages in one user's mailbox on the server."""
    result: list[dict[str, Any]] = await _ask(state, role, "GET", f"/mailboxes/{address}")
    return result
