# The control agent's mailbox routes: folders, listings with UID and flags, raw messages.
#
# Read-only views the controller uses (it waits for a delivery by polling the INBOX
# listing). A mailbox is named by a user's address on this server; anything else —
# another domain, %00, %0A or %7F in the path — is a 404 that says which mailbox, an
# unknown folder or message a 404, an invalid folder name a 422, never a 500.
from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import APIRouter, HTTPException, Path
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel

from roles.mailserver.maildir_layout import INBOX
from roles.mailserver.settings import MailServerSettings
from roles.mailserver.storage import Mailboxes, header_value

T = TypeVar("T")
Address = Annotated[str, Path(description="a mailbox address, e.g. bob@hamburger.edu")]
Folder = Annotated[str, Path(description="a folder: INBOX, Sent, Junk, Trash, Work.Plans ...")]


class MailboxMessagePublic(BaseModel):
    id: str
    uid: int
    size: int
    flags: list[str]  # Draft Flagged Passed Replied Seen Trashed
    message_id: str | None
    subject: str | None


class FolderPublic(BaseModel):
    name: str
    uid_validity: int
    messages: int


def mailbox_router(settings: MailServerSettings, mailboxes: Mailboxes) -> APIRouter:
    """The /mailboxes routes of one mail server's control agent."""
    router = APIRouter(prefix="/mailboxes", tags=["mailboxes"])

    def owner_of(address: str) -> str:
        user = settings.local_user(address) if "@" in address else None
        if user is None:
            raise HTTPException(404, f"no mailbox {address!r} on {settings.role} "
                                     f"(domain {settings.domain})")
        return user.address

    def answer(action: Callable[[], T]) -> T:
        try:
            return action()
        except KeyError as exc:
            raise HTTPException(404, str(exc.args[0])) from None
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None

    def listing(owner: str, folder: str) -> list[MailboxMessagePublic]:
        found = []
        for stored in answer(lambda: mailboxes.list(owner, folder)):
            try:
                data = mailboxes.read(owner, stored.id, folder)
            except KeyError:  # deleted meanwhile (a POP3 session's UPDATE)
                continue
            found.append(MailboxMessagePublic(
                id=stored.id, uid=stored.uid, size=stored.size, flags=sorted(stored.flags),
                message_id=header_value(data, "Message-ID"), subject=header_value(data, "Subject"),
            ))
        return found

    def raw(owner: str, message_id: str, folder: str) -> PlainTextResponse:
        data = answer(lambda: mailboxes.read(owner, message_id, folder))
        return PlainTextResponse(data.decode("utf-8", "replace"))

    @router.get("/{address}")
    def list_inbox(address: Address) -> list[MailboxMessagePublic]:
        """The messages in a user's INBOX, in arrival (UID) order."""
        return listing(owner_of(address), INBOX)

    @router.get("/{address}/folders")
    def list_folders(address: Address) -> list[FolderPublic]:
        """A user's folders, INBOX first, with UIDVALIDITY and message count."""
        owner, found = owner_of(address), []
        for name in mailboxes.folders(owner):
            try:
                validity, count = mailboxes.uid_validity(owner, name), mailboxes.list(owner, name)
                found.append(FolderPublic(name=name, uid_validity=validity, messages=len(count)))
            except KeyError:  # deleted meanwhile
                continue
        return found

    @router.get("/{address}/folders/{folder}")
    def list_folder(address: Address, folder: Folder) -> list[MailboxMessagePublic]:
        """The messages in one folder, in UID order."""
        return listing(owner_of(address), folder)

    @router.get("/{address}/folders/{folder}/{message_id}", response_class=PlainTextResponse)
    def read_folder_message(address: Address, folder: Folder,
                            message_id: str) -> PlainTextResponse:
        """One message of a folder, raw."""
        return raw(owner_of(address), message_id, folder)

    @router.get("/{address}/{message_id}", response_class=PlainTextResponse)
    def read_message(address: Address, message_id: str) -> PlainTextResponse:
        """One INBOX message, raw."""
        return raw(owner_of(address), message_id, INBOX)

    return router
