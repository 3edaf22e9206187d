# /servers: inspect a mail server's outgoing queue and act on it (retry everything now,
# delete one message; the wire contract is labctl.model.mail_queue), its users'
# mailboxes (folders, listings with UID and flags, raw messages), and take it down and
# back up (labctl.model.mail_service). The mail server's control agent does the work.
from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Path
from fastapi.responses import PlainTextResponse

from labctl.agent_contract import Address
from labctl.controller.agents import AgentError
from labctl.controller.deps import NotDuringRun, StateDep
from labctl.model.mail_queue import QUEUE_ID_PATTERN, DeleteResult, FlushResult, QueueEntry
from labctl.model.mail_service import SERVICE_PATH, ServiceState

router = APIRouter(prefix="/servers", tags=["mail servers"])

MailboxAddress = Annotated[Address, Path(description="a mailbox address, e.g. bob@hamburger.edu")]
QueueId = Annotated[str, Path(pattern=QUEUE_ID_PATTERN, description="a queue id")]


def _mail_server(state: StateDep, role: str) -> None:
    try:
        server = state.plan.lab.role(role)
    except KeyError as error:
        raise HTTPException(404, str(error.args[0])) from None
    if server.program != "mailserver":
        raise HTTPException(404, f"role {role} is not a mail server")


async def _ask(state: StateDep, role: str, path: str, method: str = "GET",
               body: Any = None) -> Any:
    _mail_server(state, role)
    try:
        return await state.agents.call(role, method, path, body)
    except AgentError as error:
        raise HTTPException(error.status, str(error)) from None


async def _raw(state: StateDep, role: str, path: str) -> PlainTextResponse:
    _mail_server(state, role)
    try:
        return PlainTextResponse(await state.agents.text(role, path))
    except AgentError as error:
        raise HTTPException(error.status, str(error)) from None


@router.get("/{role}/queue")
async def queue(role: str, state: StateDep) -> list[QueueEntry]:
    """The server's outgoing queue, oldest first."""
    return [QueueEntry.model_validate(entry) for entry in await _ask(state, role, "/queue")]


@router.get("/{role}/queue/failed")
async def failed(role: str, state: StateDep) -> list[QueueEntry]:
    """Messages the server bounced, with their errors."""
    entries = await _ask(state, role, "/queue/failed")
    return [QueueEntry.model_validate(entry) for entry in entries]


@router.post("/{role}/queue/flush", dependencies=[NotDuringRun])
async def flush(role: str, state: StateDep) -> FlushResult:
    """Retry every waiting message now."""
    return FlushResult.model_validate(await _ask(state, role, "/queue/flush", "POST"))


@router.delete("/{role}/queue/{queue_id}", dependencies=[NotDuringRun])
async def delete(role: str, queue_id: QueueId, state: StateDep) -> DeleteResult:
    """Remove one message from the queue without delivering it."""
    return DeleteResult.model_validate(await _ask(state, role, f"/queue/{queue_id}", "DELETE"))


@router.get("/{role}/service")
async def service(role: str, state: StateDep) -> ServiceState:
    """Whether the server serves its lab addresses or is down."""
    return ServiceState.model_validate(await _ask(state, role, SERVICE_PATH))


@router.put("/{role}/service", dependencies=[NotDuringRun])
async def set_service(role: str, wanted: ServiceState, state: StateDep) -> ServiceState:
    """Take the server down (its lab connections refused and cut, its queue and mailboxes
    kept) or bring it back up."""
    body = wanted.model_dump()
    return ServiceState.model_validate(await _ask(state, role, SERVICE_PATH, "PUT", body))


@router.get("/{role}/mailboxes/{address}")
async def mailbox(role: str, address: MailboxAddress, state: StateDep) -> list[dict[str, Any]]:
    """The messages in one user's mailbox on the server."""
    result: list[dict[str, Any]] = await _ask(state, role, f"/mailboxes/{quote(address)}")
    return result


@router.get("/{role}/mailboxes/{address}/folders")
async def folders(role: str, address: MailboxAddress, state: StateDep) -> Any:
    """The user's folders (INBOX, Sent, Junk, Trash and those the user made)."""
    return await _ask(state, role, f"/mailboxes/{quote(address)}/folders")


@router.get("/{role}/mailboxes/{address}/folders/{folder}")
async def folder(role: str, address: MailboxAddress, folder: str, state: StateDep) -> Any:
    """The messages in one of the user's folders."""
    return await _ask(state, role, f"/mailboxes/{quote(address)}/folders/{quote(folder, '')}")


@router.get("/{role}/mailboxes/{address}/folders/{folder}/{message_id}",
            response_class=PlainTextResponse)
async def folder_message(role: str, address: MailboxAddress, folder: str, message_id: str,
                         state: StateDep) -> PlainTextResponse:
    """One message of a folder, as stored."""
    path = f"/mailboxes/{quote(address)}/folders/{quote(folder, '')}/{quote(message_id, '')}"
    return await _raw(state, role, path)


@router.get("/{role}/mailboxes/{address}/{message_id}", response_class=PlainTextResponse)
async def message(role: str, address: MailboxAddress, message_id: str,
                  state: StateDep) -> PlainTextResponse:
    """One message of the user's INBOX, as stored."""
    return await _raw(state, role, f"/mailboxes/{quote(address)}/{quote(message_id, '')}")
