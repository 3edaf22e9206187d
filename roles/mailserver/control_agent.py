# The control agent: a small FastAPI app the controller uses to inspect this server.
#
# Served on the management network only (see server.py), so its traffic never shows
# up in a lab capture. Health, the mailboxes (read-only, mailbox_routes.py) and the
# outgoing queue: list it, retry everything now (flush), delete one message (the wire
# contract is labctl.model.mail_queue); and the server's lab-facing service, to take it
# down and back up (labctl.model.mail_service); and the server's lab options, read and
# changed at run time (labctl.model.options: a scenario's setup sets them for its run).
# Only the controller may use the queue, mailbox, service and options routes
# (labctl.agent_auth); /health is open.
from __future__ import annotations

import logging
from typing import Annotated, Protocol

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path
from pydantic import BaseModel

from labctl.agent_guard import AgentGuard
from labctl.model.mail_queue import QUEUE_ID_PATTERN, DeleteResult, FlushResult, QueueEntry
from labctl.model.mail_service import SERVICE_PATH, ServiceState
from labctl.model.options import OPTIONS_PATH, LabOptionChanges, LabOptions
from roles.mailserver.durable_files import in_io_thread
from roles.mailserver.mailbox_routes import mailbox_router
from roles.mailserver.relay import RelayWorker
from roles.mailserver.settings import MailServerSettings
from roles.mailserver.storage import Mailboxes, OutgoingQueue, QueuedMessage

log = logging.getLogger("mailserver")


class HealthPublic(BaseModel):
    role: str
    status: str


QueueId = Annotated[str, Path(pattern=QUEUE_ID_PATTERN, description="a queue id")]


class ServiceSwitch(Protocol):
    """What takes the server down and back up (MailServer)."""

    @property
    def is_up(self) -> bool: ...

    async def set_up(self, up: bool) -> None: ...


def queue_entry(message: QueuedMessage, state: str = "queued") -> QueueEntry:
    """The public view of a queued (or failed) message."""
    return QueueEntry(
        id=message.id, mail_from=message.mail_from, rcpt_tos=message.rcpt_tos,
        attempts=message.attempts, last_error=message.last_error,
        next_attempt=message.next_attempt, message_id=message.message_id,
        created=message.created, state="failed" if state == "failed" else "queued",
    )


def create_control_app(settings: MailServerSettings, queue: OutgoingQueue,
                       mailboxes: Mailboxes, relay: RelayWorker,
                       guard: AgentGuard | None = None,
                       service: ServiceSwitch | None = None) -> FastAPI:
    """The control agent's FastAPI app for one mail server (guard: from the environment;
    service: what the service routes switch, none for an agent that cannot)."""
    app = FastAPI(title=f"maillab {settings.role} control agent")
    controller_only = APIRouter(dependencies=[Depends(guard or AgentGuard.from_env())])

    @app.get("/health")
    def health() -> HealthPublic:
        """Liveness of the mail server."""
        return HealthPublic(role=settings.role, status="ok")

    @controller_only.get("/queue")
    async def list_queue() -> list[QueueEntry]:
        """Messages waiting in the outgoing queue, oldest first."""
        return [queue_entry(m) for m in await in_io_thread(queue.messages)]

    @controller_only.get("/queue/failed")
    async def list_failed() -> list[QueueEntry]:
        """Messages that bounced, kept with their error for inspection."""
        return [queue_entry(m, "failed") for m in await in_io_thread(queue.failed)]

    @controller_only.post("/queue/flush")
    async def flush_queue() -> FlushResult:
        """Retry every waiting message now."""
        return FlushResult(flushed=relay.flush())

    @controller_only.delete("/queue/{queue_id}")
    async def delete_queued(queue_id: QueueId) -> DeleteResult:
        """Remove one message from the queue without delivering it (no bounce)."""
        if not relay.cancel(queue_id):
            raise HTTPException(409, f"queue id {queue_id} is being delivered right now")
        try:
            await in_io_thread(queue.remove, queue_id)
        except (KeyError, FileNotFoundError):
            raise HTTPException(404, f"no queue id {queue_id} on {settings.role}") from None
        return DeleteResult(deleted=queue_id)

    def switch() -> ServiceSwitch:
        if service is None:
            raise HTTPException(404, f"{settings.role}'s agent cannot take it down")
        return service

    @controller_only.get(SERVICE_PATH)
    def service_state() -> ServiceState:
        """Whether the server serves its lab addresses."""
        return ServiceState(up=switch().is_up)

    @controller_only.put(SERVICE_PATH)
    async def set_service_state(wanted: ServiceState) -> ServiceState:
        """Take the server down (lab connections refused and cut) or bring it back up."""
        await switch().set_up(wanted.up)
        return ServiceState(up=switch().is_up)

    @controller_only.get(OPTIONS_PATH)
    async def options() -> LabOptions:
        """The lab options the server goes by now."""
        return settings.options

    @controller_only.patch(OPTIONS_PATH)
    async def change_options(changes: LabOptionChanges) -> LabOptions:
        """Change the options given (the others stay); new connections and transactions
        go by them. Async: the change happens on the server's loop, between its reads."""
        settings.change_options(settings.options.changed_by(changes))
        log.info("lab options now %s", settings.options)
        return settings.options

    controller_only.include_router(mailbox_router(settings, mailboxes))
    app.include_router(controller_only)
    return app
