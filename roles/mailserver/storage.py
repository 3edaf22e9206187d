# The storage interface of the mail server: an outgoing queue and user mailboxes.
#
# Two small typing.Protocols (implemented by disk_queue.py and mailbox_store.py), so
# the server and the relay depend on the contract, not on the files. Every write
# method returns only once the data is durable: the SMTP layer answers 250 after it
# returns.
from __future__ import annotations

import builtins
import email.parser
import email.policy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from roles.mailserver.mailbox_events import MailboxEvents
from roles.mailserver.maildir_flags import Flag as Flag
from roles.mailserver.maildir_layout import INBOX as INBOX

FlagChange = Literal["replace", "add", "remove"]


@dataclass
class QueuedMessage:
    """A message waiting in the outgoing queue, with its envelope and delivery state."""

    id: str
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    created: float
    attempts: int = 0
    next_attempt: float = 0.0  # unix time of the next delivery attempt
    last_error: str | None = None

    @property
    def message_id(self) -> str | None:
        return header_value(self.data, "Message-ID")


@dataclass(frozen=True)
class StoredMessage:
    """A message in a mailbox folder: its id (unique name), IMAP UID, size (with CRLF),
    flags and internal date (unix time it was delivered or appended: IMAP INTERNALDATE)."""

    id: str
    uid: int
    size: int
    flags: frozenset[Flag] = frozenset()
    internal_date: float = 0.0


class OutgoingQueue(Protocol):
    """Messages accepted for remote recipients, kept until delivered or failed for good."""

    def enqueue(self, mail_from: str, rcpt_tos: Sequence[str], data: bytes,
                queue_id: str | None = None) -> QueuedMessage:
        """Store a new message durably (under `queue_id`, default a new name); return it."""
        ...

    def messages(self) -> list[QueuedMessage]:
        """All queued messages, oldest first."""
        ...

    def update(self, message: QueuedMessage) -> None:
        """Durably record a message's new delivery state (attempts, errors, recipients)."""
        ...

    def record_attempt(self, message: QueuedMessage) -> None:
        """Durably record that `message` is being sent now (message.attempts counts it)."""
        ...

    def remove(self, message_id: str) -> None:
        """Drop a delivered message from the queue; it must not block (the relay calls it
        inline), so the file may go a moment later: a crash meanwhile sends it once more.
        FileNotFoundError when the message is not queued."""
        ...

    def fail(self, message: QueuedMessage, error: str) -> None:
        """Move a message out of the queue as failed for good, keeping it for inspection."""
        ...

    def failed(self) -> list[QueuedMessage]:
        """Messages that failed for good."""
        ...


class Mailboxes(Protocol):
    """Per-user mailboxes of folders (INBOX, Sent, Junk, Trash, ...) holding messages.

    Unknown messages and folders raise KeyError; invalid folder names ValueError.
    """

    def deliver(self, address: str, data: bytes, folder: str = INBOX) -> str:
        """Store a message durably in an existing folder of `address`; return its id."""
        ...

    def list(self, address: str, folder: str = INBOX) -> list[StoredMessage]:
        """The folder's messages in UID (arrival) order."""
        ...

    def read(self, address: str, message_id: str, folder: str = INBOX) -> bytes:
        """The raw message."""
        ...

    def read_many(self, address: str, message_ids: Iterable[str],
                  folder: str = INBOX) -> dict[str, bytes]:
        """The raw messages among `message_ids` still in the folder, by id, at most one
        look at the folder for all (IMAP FETCH and SEARCH of many messages)."""
        ...

    def delete(self, address: str, message_id: str, folder: str = INBOX) -> None:
        """Remove a message durably."""
        ...

    def delete_messages(self, address: str, message_ids: Iterable[str],
                        folder: str = INBOX) -> builtins.list[str]:
        """Remove several messages durably at once; the ids that were there and are gone."""
        ...

    def set_flags(self, address: str, message_id: str, flags: Iterable[Flag],
                  folder: str = INBOX, how: FlagChange = "replace") -> frozenset[Flag]:
        """Replace, add or remove (IMAP STORE FLAGS/+FLAGS/-FLAGS) flags; return the new set."""
        ...

    def change_flags(self, address: str, message_ids: Iterable[str], flags: Iterable[Flag],
                     folder: str = INBOX, how: FlagChange = "replace",
                     ) -> dict[str, frozenset[Flag]]:
        """set_flags on several messages at once; each found id's new flags."""
        ...

    def folders(self, address: str) -> builtins.list[str]:
        """The mailbox's folders: INBOX first, then the others sorted."""
        ...

    def create_folder(self, address: str, folder: str) -> None:
        """Create an empty folder; ValueError when it exists."""
        ...

    def rename_folder(self, address: str, folder: str, new_name: str) -> None:
        """Rename a folder and the folders below it (not INBOX, Sent, Junk or Trash)."""
        ...

    def delete_folder(self, address: str, folder: str) -> None:
        """Delete a folder and its messages (not INBOX, Sent, Junk, Trash, nor a parent)."""
        ...

    def uid_validity(self, address: str, folder: str = INBOX) -> int:
        """The folder's UIDVALIDITY: UIDs keep their meaning while it stays the same."""
        ...

    def uid_next(self, address: str, folder: str = INBOX) -> int:
        """The UID the folder's next message will get (IMAP UIDNEXT)."""
        ...

    def claim_recent(self, address: str, folder: str = INBOX) -> frozenset[str]:
        """Ids of the messages that arrived since the last claim (IMAP \\Recent: one
        session, the first to SELECT after the arrival, gets them); later calls omit them."""
        ...

    def append(self, address: str, folder: str, data: bytes, flags: Iterable[Flag] = (),
               internal_date: float | None = None) -> StoredMessage:
        """Store a message durably with flags and internal date (default now): IMAP APPEND."""
        ...

    def copy(self, address: str, folder: str, ids: Iterable[str],
             target: str) -> builtins.list[tuple[int, int]]:
        """Copy messages to `target`, flags and internal date kept; (old UID, new UID) pairs
        in the order of `ids` (vanished ids skipped): IMAP COPY/COPYUID."""
        ...

    def move(self, address: str, folder: str, ids: Iterable[str],
             target: str) -> builtins.list[tuple[int, int]]:
        """Copy durably, then delete from `folder` (a crash never loses one): IMAP MOVE."""
        ...

    def subscriptions(self, address: str) -> builtins.list[str]:
        """Subscribed folder names (INBOX, Sent, Junk, Trash until changed): IMAP LSUB."""
        ...

    def subscribe(self, address: str, folder: str) -> None:
        """Subscribe to a folder name, durably (it need not exist)."""
        ...

    def unsubscribe(self, address: str, folder: str) -> None:
        """Unsubscribe from a folder name; KeyError when not subscribed."""
        ...

    @property
    def events(self) -> MailboxEvents:
        """Change notification: subscribe(address, folder) for IMAP IDLE."""
        ...


def header_value(data: bytes, name: str) -> str | None:
    """The value of header `name` in a raw message, or None when absent."""
    parser = email.parser.BytesHeaderParser(policy=email.policy.compat32)
    value = parser.parsebytes(data).get(name)
    return None if value is None else " ".join(str(value).split())
