# The storage interface of the mail server: an outgoing queue and user mailboxes.
#
# Two small typing.Protocols so the server can run on disk (disk_queue.py, maildir.py)
# in production and in memory (memory_storage.py) in unit tests. Every write method
# returns only once the data is durable: the SMTP layer answers 250 after it returns.
from __future__ import annotations

import email.parser
import email.policy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


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
    """A message in a mailbox: its stable id (Maildir unique name) and size in octets."""

    id: str
    size: int


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
        """Drop a delivered message from the queue (quick, no fsync: the relay calls it inline)."""
        ...

    def fail(self, message: QueuedMessage, error: str) -> None:
        """Move a message out of the queue as failed for good, keeping it for inspection."""
        ...

    def failed(self) -> list[QueuedMessage]:
        """Messages that failed for good."""
        ...


class Mailboxes(Protocol):
    """Per-user mailboxes holding delivered messages."""

    def deliver(self, address: str, data: bytes) -> str:
        """Store a message durably in the mailbox of `address`; return its id."""
        ...

    def list(self, address: str) -> list[StoredMessage]:
        """The mailbox's messages in arrival order (empty when the mailbox does not exist)."""
        ...

    def read(self, address: str, message_id: str) -> bytes:
        """The raw message; KeyError when there is no such message."""
        ...

    def delete(self, address: str, message_id: str) -> None:
        """Remove a message durably; KeyError when there is no such message."""
        ...


def header_value(data: bytes, name: str) -> str | None:
    """The value of header `name` in a raw message, or None when absent."""
    parser = email.parser.BytesHeaderParser(policy=email.policy.compat32)
    value = parser.parsebytes(data).get(name)
    return None if value is None else " ".join(str(value).split())
