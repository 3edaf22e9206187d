# The control agent: a small FastAPI app the controller uses to inspect this server.
#
# Served on the management network only (see server.py), so its traffic never shows
# up in a lab capture. Read-only: health, the outgoing queue and the mailboxes. Only
# the controller may read the queue and mailboxes (labctl.agent_auth); /health is open.
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel

from labctl.agent_auth import AgentGuard
from roles.mailserver.settings import MailServerSettings
from roles.mailserver.storage import Mailboxes, OutgoingQueue, header_value


class HealthPublic(BaseModel):
    role: str
    status: str


class QueuedMessagePublic(BaseModel):
    id: str
    mail_from: str
    rcpt_tos: list[str]
    attempts: int
    last_error: str | None
    next_attempt: float
    message_id: str | None


class MailboxMessagePublic(BaseModel):
    id: str
    size: int
    message_id: str | None
    subject: str | None


Address = Annotated[str, Path(description="a mailbox address, e.g. bob@hamburger.edu")]


def create_control_app(settings: MailServerSettings, queue: OutgoingQueue,
                       mailboxes: Mailboxes, guard: AgentGuard | None = None) -> FastAPI:
    """The control agent's FastAPI app for one mail server (guard: from the environment)."""
    app = FastAPI(title=f"maillab {settings.role} control agent")
    controller_only = APIRouter(dependencies=[Depends(guard or AgentGuard.from_env())])

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

    @controller_only.get("/queue")
    def list_queue() -> list[QueuedMessagePublic]:
        """Messages waiting in the outgoing queue."""
        return [
            QueuedMessagePublic(
                id=m.id, mail_from=m.mail_from, rcpt_tos=m.rcpt_tos, attempts=m.attempts,
                last_error=m.last_error, next_attempt=m.next_attempt, message_id=m.message_id,
            )
            for m in queue.messages()
        ]

    @controller_only.get("/mailboxes/{address}")
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

    @controller_only.get("/mailboxes/{address}/{message_id}", response_class=PlainTextResponse)
    def read_message(address: Address, message_id: str) -> PlainTextResponse:
        """One message's raw text."""
        owner = mailbox_address(address)
        try:
            data = mailboxes.read(owner, message_id)
        except KeyError as exc:
            raise HTTPException(404, f"no message {message_id!r} in mailbox {owner}") from exc
        return PlainTextResponse(data.decode("utf-8", "replace"))

    app.include_router(controller_only)
    return app
