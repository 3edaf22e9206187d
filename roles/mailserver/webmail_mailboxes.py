# What a webmail user can do with their own mailbox, shared by the JSON API and the
# HTML pages: list folders (with unseen counts) and messages, read one (which marks it
# Seen), move and delete messages (delete moves to Trash; in Trash it removes), make
# and remove folders, and send.
#
# Sending composes the message as the user agent does (roles.useragent.compose_message,
# one composer for both ways of sending), adds the server's Received header ("with
# HTTP") and hands it to the server's MailRouter, exactly as an SMTP submission is: a
# local recipient's copy is delivered, a remote one waits in the outgoing queue and
# leaves over SMTP. A copy goes to the sender's Sent folder. The sender is always the
# logged-in user: the request cannot set From, Sender or Return-Path.
#
# Errors are those of the Mailboxes contract: KeyError for an unknown folder or message,
# ValueError (with FolderExists and MessageTooLarge) for a request that cannot be done.
from __future__ import annotations

from pydantic import BaseModel

from labctl.agent_contract import SendRequest
from roles.mailserver.delivery import MailRouter
from roles.mailserver.message_headers import received_header
from roles.mailserver.message_ids import new_message_name
from roles.mailserver.settings import MailServerSettings
from roles.mailserver.storage import Flag, Mailboxes, StoredMessage
from roles.mailserver.webmail_message_view import (
    MessageSummary,
    MessageView,
    parse,
    summary,
    view,
)
from roles.useragent.compose_message import compose_message, message_bytes

SENT, TRASH = "Sent", "Trash"
SENDER_HEADERS = frozenset({"from", "sender", "return-path"})
RECEIVED_WITH = "HTTP"  # the Received header's protocol for mail sent through the webmail


class FolderExists(ValueError):
    """A folder of that name is there already."""


class MessageTooLarge(ValueError):
    """The composed message exceeds the server's message size limit."""


class FolderSummary(BaseModel):
    """A folder with its message and unseen counts."""

    name: str
    messages: int
    unseen: int


class SendAccepted(BaseModel):
    """What the webmail did with a message it sent."""

    queue_id: str  # the transaction's id, as in the Received header
    ids: list[str]  # the outgoing queue entry (remote recipient) or mailbox id (local)
    sent_id: str  # the copy in the sender's Sent folder
    message_id: str
    raw: str  # the message as composed (the Sent copy)


class WebmailMailboxes:
    """One user's view of the server's mailboxes; every method takes the owner's address."""

    def __init__(self, settings: MailServerSettings, mailboxes: Mailboxes,
                 router: MailRouter) -> None:
        self.settings = settings
        self.mailboxes = mailboxes
        self.router = router

    def folders(self, owner: str) -> list[FolderSummary]:
        """Every folder, INBOX first, with its message and unseen counts."""
        found = []
        for name in self.mailboxes.folders(owner):
            try:
                listing = self.mailboxes.list(owner, name)
            except KeyError:  # deleted meanwhile
                continue
            unseen = sum(1 for stored in listing if Flag.SEEN not in stored.flags)
            found.append(FolderSummary(name=name, messages=len(listing), unseen=unseen))
        return found

    def create_folder(self, owner: str, name: str) -> None:
        """Make an empty folder; FolderExists when there is one of that name."""
        if name in self.mailboxes.folders(owner):
            raise FolderExists(f"folder {name!r} exists already in mailbox {owner}")
        self.mailboxes.create_folder(owner, name)

    def delete_folder(self, owner: str, name: str) -> None:
        """Remove a folder and its messages (never INBOX, Sent, Junk or Trash)."""
        self.mailboxes.delete_folder(owner, name)

    def messages(self, owner: str, folder: str) -> list[MessageSummary]:
        """The folder's messages in UID (arrival) order."""
        found = []
        for stored in self.mailboxes.list(owner, folder):
            try:
                data = self.mailboxes.read(owner, stored.id, folder)
            except KeyError:  # removed meanwhile (a POP3 session's UPDATE)
                continue
            found.append(summary(stored, parse(data)))
        return found

    def stored(self, owner: str, folder: str, message_id: str) -> StoredMessage:
        """The folder's entry for a message; KeyError when it is not there."""
        for stored in self.mailboxes.list(owner, folder):
            if stored.id == message_id:
                return stored
        raise KeyError(f"no message {message_id} in folder {folder} of {owner}")

    def open(self, owner: str, folder: str, message_id: str) -> MessageView:
        """The message for reading; it is Seen from now on."""
        stored = self.stored(owner, folder, message_id)
        data = self.mailboxes.read(owner, message_id, folder)
        flags = self.mailboxes.set_flags(owner, message_id, {Flag.SEEN}, folder, how="add")
        seen = StoredMessage(stored.id, stored.uid, stored.size, flags)
        return view(seen, parse(data))

    def raw(self, owner: str, folder: str, message_id: str) -> bytes:
        """The message exactly as stored (CRLF line endings)."""
        return self.mailboxes.read(owner, message_id, folder)

    def move(self, owner: str, folder: str, message_id: str, to: str) -> str:
        """Move a message with its flags to folder `to`; its id there."""
        stored = self.stored(owner, folder, message_id)
        if to == folder:
            return message_id
        self.mailboxes.list(owner, to)  # KeyError for an unknown target, before any change
        data = self.mailboxes.read(owner, message_id, folder)
        moved = self.mailboxes.deliver(owner, data, folder=to)  # copy first: nothing is lost
        if stored.flags:
            self.mailboxes.set_flags(owner, moved, stored.flags, folder=to)
        self.mailboxes.delete(owner, message_id, folder)
        return moved

    def delete(self, owner: str, folder: str, message_id: str) -> str | None:
        """Move a message to Trash (its id there), or remove it when it is in Trash (None)."""
        if folder == TRASH:
            self.mailboxes.delete(owner, message_id, folder)
            return None
        return self.move(owner, folder, message_id, TRASH)

    def send(self, owner: str, request: SendRequest, peer: str) -> SendAccepted:
        """Compose `request` as `owner`, deliver or queue it, and keep a copy in Sent."""
        for name in request.headers:
            if name.lower() in SENDER_HEADERS:
                raise ValueError(f"headers.{name}: the sender is the logged-in user "
                                 f"({owner}); the webmail sets {name} itself")
        if (self.settings.is_local_domain(request.to)
                and self.router.local_mailbox(request.to) is None):
            raise ValueError(f"to: no mailbox {request.to!r} on {self.settings.hostname}")
        message = compose_message(owner, request)
        raw = message_bytes(message)
        if len(raw) > self.settings.max_message_size:
            raise MessageTooLarge(f"the message is {len(raw)} bytes; this server takes at "
                                  f"most {self.settings.max_message_size}")
        queue_id = new_message_name()
        received = received_header(f"[{peer}]", peer, self.settings.hostname, RECEIVED_WITH,
                                   queue_id, [request.to])
        ids = self.router.accept(owner, [request.to], received + raw, queue_id)
        sent_id = self.mailboxes.deliver(owner, raw, folder=SENT)
        self.mailboxes.set_flags(owner, sent_id, {Flag.SEEN}, folder=SENT)
        return SendAccepted(queue_id=queue_id, ids=ids, sent_id=sent_id,
                            message_id=str(message["Message-ID"]),
                            raw=raw.decode("utf-8", "replace"))


def error_status(error: KeyError | ValueError) -> int:
    """The HTTP status a mailbox error answers with."""
    if isinstance(error, KeyError):
        return 404
    if isinstance(error, FolderExists):
        return 409
    if isinstance(error, MessageTooLarge):
        return 413
    return 422


def error_text(error: KeyError | ValueError) -> str:
    """The message of a mailbox error (a KeyError's without its quotes)."""
    return str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)
