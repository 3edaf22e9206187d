# The webmail's JSON API: a user agent's third way to reach its mailbox (after POP3 and
# IMAP), over HTTP. One router per resource under /api/mailboxes/{address}: folders,
# messages, and the outbox (sending). Every request carries HTTP Basic credentials
# (webmail_auth.api_owner); the work is done by WebmailMailboxes, whose errors become
# 404 (unknown folder or message), 409 (folder exists), 413 (too large) or 422 (naming
# the field). Request bodies are pydantic models with extra="forbid", so a misspelt or
# invalid field is a 422 that names it; the outbox takes labctl.agent_contract's
# SendRequest, the same body a user agent's control agent takes.
# No `from __future__ import annotations`: FastAPI reads the routes' annotations at
# runtime, and the dependency aliases are local to the router factory.

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import AfterValidator, BaseModel, ConfigDict

from labctl.agent_contract import SendRequest
from roles.mailserver.maildir_layout import check_folder_name
from roles.mailserver.settings import MailServerSettings
from roles.mailserver.webmail_auth import api_owner
from roles.mailserver.webmail_mailboxes import (
    FolderSummary,
    SendAccepted,
    WebmailMailboxes,
    error_status,
    error_text,
)
from roles.mailserver.webmail_message_view import MessageSummary, MessageView

T = TypeVar("T")
API_PREFIX = "/api/mailboxes/{address}"
RFC822 = "message/rfc822"
FolderName = Annotated[str, AfterValidator(check_folder_name)]


class FolderCreate(BaseModel):
    """A folder to make."""

    model_config = ConfigDict(extra="forbid")
    name: FolderName


class MoveRequest(BaseModel):
    """Where to move a message."""

    model_config = ConfigDict(extra="forbid")
    to: FolderName


class FoldersPublic(BaseModel):
    """A mailbox's folders."""

    folders: list[FolderSummary]


class MessagesPublic(BaseModel):
    """A folder's messages."""

    messages: list[MessageSummary]


class MovedPublic(BaseModel):
    """Where a moved message is now."""

    id: str  # the message's id in its new folder
    folder: str


class DeletedPublic(BaseModel):
    """What deleting a message did."""

    deleted: str
    trash_id: str | None  # its id in Trash; None when it was removed from Trash


def answer(action: Callable[[], T]) -> T:
    """Run a mailbox action; its KeyError or ValueError becomes the matching HTTP error."""
    try:
        return action()
    except (KeyError, ValueError) as error:
        raise HTTPException(error_status(error), error_text(error)) from None


def webmail_api_routers(settings: MailServerSettings,
                        service: WebmailMailboxes) -> list[APIRouter]:
    """The routers of the JSON API: folders, messages, outbox."""
    Owner = Annotated[str, Depends(api_owner(settings))]
    folders = APIRouter(prefix=API_PREFIX, tags=["folders"])
    messages = APIRouter(prefix=f"{API_PREFIX}/folders/{{folder}}/messages", tags=["messages"])
    outbox = APIRouter(prefix=API_PREFIX, tags=["outbox"])

    @folders.get("/folders")
    def list_folders(owner: Owner) -> FoldersPublic:
        """Your folders, INBOX first, with message and unseen counts."""
        return FoldersPublic(folders=answer(lambda: service.folders(owner)))

    @folders.post("/folders", status_code=201)
    def create_folder(owner: Owner, body: FolderCreate) -> FolderSummary:
        """Make an empty folder ('.' separates levels: Work.Plans)."""
        answer(lambda: service.create_folder(owner, body.name))
        return FolderSummary(name=body.name, messages=0, unseen=0)

    @folders.delete("/folders/{folder}", status_code=204)
    def delete_folder(owner: Owner, folder: str) -> Response:
        """Remove a folder and its messages (never INBOX, Sent, Junk or Trash)."""
        answer(lambda: service.delete_folder(owner, folder))
        return Response(status_code=204)

    @messages.get("")
    def list_messages(owner: Owner, folder: str) -> MessagesPublic:
        """The folder's messages in arrival order, headers decoded for display."""
        return MessagesPublic(messages=answer(lambda: service.messages(owner, folder)))

    @messages.get("/{message_id}")
    def read_message(owner: Owner, folder: str, message_id: str) -> MessageView:
        """One message for reading (it is Seen from now on)."""
        return answer(lambda: service.open(owner, folder, message_id))

    @messages.get("/{message_id}/raw", response_class=Response,
                  responses={200: {"content": {RFC822: {}}}})
    def raw_message(owner: Owner, folder: str, message_id: str) -> Response:
        """The message exactly as stored, CRLF line endings."""
        data = answer(lambda: service.raw(owner, folder, message_id))
        return Response(data, media_type=RFC822,
                        headers={"Content-Security-Policy": "sandbox"})

    @messages.post("/{message_id}/move")
    def move_message(owner: Owner, folder: str, message_id: str,
                     body: MoveRequest) -> MovedPublic:
        """Move the message (with its flags) to another folder."""
        moved = answer(lambda: service.move(owner, folder, message_id, body.to))
        return MovedPublic(id=moved, folder=body.to)

    @messages.delete("/{message_id}")
    def delete_message(owner: Owner, folder: str, message_id: str) -> DeletedPublic:
        """Move the message to Trash; in Trash, remove it."""
        trash_id = answer(lambda: service.delete(owner, folder, message_id))
        return DeletedPublic(deleted=message_id, trash_id=trash_id)

    @outbox.post("/outbox", status_code=202)
    def send_message(owner: Owner, body: SendRequest, request: Request) -> SendAccepted:
        """Compose and send a message from you: local mail is delivered, remote mail queued."""
        peer = request.client.host if request.client else "unknown"
        return answer(lambda: service.send(owner, body, peer))

    return [folders, messages, outbox]
