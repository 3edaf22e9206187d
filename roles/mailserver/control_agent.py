# The control agent: a small FastAPI app the controller uses to inspect this server.
#
# Served on the management network only (see server.py), so its traffic never shows
# up in a lab capture. Health, the mailboxes (read-only) and the outgoing queue: list
# it, retry everything now (flush), delete one message (the wire contract is
# labctl.model.mail_queue).
from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import FastAPI, HTTPException, Path
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel

from labctl.model.mail_queue import QUEUE_ID_PATTERN, DeleteResult, FlushResult, QueueEntry
from roles.mailserver.relay import RelayWorker
from roles.mailserver.settings import MailServerSettings
from roles.mailserver.storage import Mailboxes, OutgoingQueue, QueuedMessage, header_value


class HealthPublic(BaseModel):
    role: str
    status: str


class MailboxMessagePublic(BaseModel):
    id: str
    size: int
    message_id: str | None
    subject: str | None


Address = Annotated[str, Path(description="a mailbox address, e.g. bob@hamburger.edu")]
QueueId = Annotated[str, Path(pattern=QUEUE_ID_PATTERN, description="a queue id")]


def queue_entry(message: QueuedMessage, state: str = "queued") -> QueueEntry:
    """The public view of a queued (or failed) message."""
    return QueueEntry(
        id=message.id, mail_from=message.mail_from, rcpt_tos=message.rcpt_tos,
        attempts=message.attempts, last_error=message.last_error,
        next_attempt=message.next_attempt, message_id=message.message_id,
        created=message.created, state="failed" if state == "failed" else "queued",
    )


def create_control_app(settings: MailServerSettings, queue: OutgoingQueue,
                       mailboxes: Mailboxes, relay: RelayWorker) -> FastAPI:
    """The control agent's FastAPI app for one mail server."""
    app = FastAPI(title=f"maillab {settings.role} control agent")

    def mailbox_address(address: str) -> str:
        user = settings.local_user(address) if "@" in address else None
        if user is None:
            raise HTTPException(404, f"no mailbox {address!r} on {settings.role} "
                                     f"(domain {settings.domain})")
        return user.address

    @app.get("/health")
    def health() -> HealthPublic:
        """Liveness of the mail server."""
        return HealthPublic(role=settings.role, status="ok")

    @app.get("/queue")
    async def list_queue() -> list[QueueEntry]:
        """Messages waiting in the outgoing queue, oldest first."""
        return [queue_entry(m) for m in await asyncio.to_thread(queue.messages)]

    @app.get("/queue/failed")
    async def list_failed() -> list[QueueEntry]:
        """Messages that bounced, kept with their error for inspection."""
        return [queue_entry(m, "failed") for m in await asyncio.to_thread(queue.failed)]

    @app.post("/queue/flush")
    async def flush_queue() -> FlushResult:
        """Retry every waiting message now."""
        return FlushResult(flushed=relay.flush())

    @app.delete("/queue/{queue_id}")
    async def delete_queued(queue_id: QueueId) -> DeleteResult:
        """Remove one message from the queue without delivering it (no bounce)."""
        if not relay.cancel(queue_id):
            raise HTTPException(409, f"queue id {queue_id} is being delivered right now")
        try:
            await asyncio.to_thread(queue.remove, queue_id)
        except (KeyError, FileNotFoundError):
            raise HTTPException(404, f"no queue id {queue_id} on {settings.role}") from None
        return DeleteResult(deleted=queue_id)

    @app.get("/mailboxes/{address}")
    def list_mailbox(address: Address) -> list[MailboxMessagePublic]:
        """Messages in one user's mailbox, in arrival order."""
        owner = mailbox_address(address)
        listing = []
        for stored in mailboxes.list(owner):
            try:
                data = mailboxes.read(owner, stored.id)
            except KeyError:  # deleted meanwhile by a POP3 session
                continue
            listing.append(MailboxMessagePublic(
                id=stored.id, size=stored.size, message_id=header_value(data, "Message-ID"),
                subject=header_value(data, "Subject"),
            ))
        return listing

    @app.get("/mailboxes/{address}/{message_id}", response_class=PlainTextResponse)
    def read_message(address: Address, message_id: str) -> PlainTextResponse:
        """One message's raw text."""
        owner = mailbox_address(address)
        try:
            data = mailboxes.read(owner, message_id)
        except KeyError as exc:
            raise HTTPException(404, f"no message {message_id!r} in mailbox {owner}") from exc
        return PlainTextResponse(data.decode("utf-8", "replace"))

    return app
