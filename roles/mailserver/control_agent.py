# The control agent: a small FastAPI app the controller uses to inspect this server.
#
# Served on the management network only (see server.py), so its traffic never shows
# up in a lab capture: health, the outgoing queue and the mailboxes (mailbox_routes.py).
# Only the controller may use the queue and mailbox routes (labctl.agent_auth); /health
# is open.
from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI
from pydantic import BaseModel

from labctl.agent_auth import AgentGuard
from roles.mailserver.mailbox_routes import mailbox_router
from roles.mailserver.settings import MailServerSettings
from roles.mailserver.storage import Mailboxes, OutgoingQueue


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


def create_control_app(settings: MailServerSettings, queue: OutgoingQueue,
                       mailboxes: Mailboxes, guard: AgentGuard | None = None) -> FastAPI:
    """The control agent's FastAPI app for one mail server (guard: from the environment)."""
    app = FastAPI(title=f"maillab {settings.role} control agent")
    controller_only = APIRouter(dependencies=[Depends(guard or AgentGuard.from_env())])

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

    controller_only.include_router(mailbox_router(settings, mailboxes))
    app.include_router(controller_only)
    return app
