# In-memory implementations of the storage interface, for unit tests.
#
# Same behaviour as the disk versions (ordering, KeyError on unknown ids) without
# durability; the server code cannot tell them apart.
from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace

from roles.mailserver.message_ids import new_message_name
from roles.mailserver.storage import QueuedMessage, StoredMessage


class MemoryQueue:
    """OutgoingQueue held in a dict."""

    def __init__(self) -> None:
        self._queued: dict[str, QueuedMessage] = {}
        self._failed: list[QueuedMessage] = []

    def enqueue(self, mail_from: str, rcpt_tos: Sequence[str], data: bytes,
                queue_id: str | None = None) -> QueuedMessage:
        """Store a new message and return it."""
        message = QueuedMessage(queue_id or new_message_name(), mail_from, list(rcpt_tos), data,
                                time.time())
        self._queued[message.id] = message
        return replace(message, rcpt_tos=list(message.rcpt_tos))

    def messages(self) -> list[QueuedMessage]:
        """All queued messages, oldest first (copies: callers change them through update)."""
        return [replace(m, rcpt_tos=list(m.rcpt_tos)) for m in self._queued.values()]

    def update(self, message: QueuedMessage) -> None:
        """Record a message's new delivery state."""
        if message.id not in self._queued:
            raise KeyError(f"no queued message {message.id}")
        self._queued[message.id] = replace(message, rcpt_tos=list(message.rcpt_tos))

    def record_attempt(self, message: QueuedMessage) -> None:
        """Record that `message` is being sent now."""
        self._queued[message.id].attempts = message.attempts

    def remove(self, message_id: str) -> None:
        """Drop a delivered message."""
        del self._queued[message_id]

    def fail(self, message: QueuedMessage, error: str) -> None:
        """Move a message to the failed list with its error."""
        self._failed.append(replace(message, last_error=error))
        self._queued.pop(message.id, None)

    def failed(self) -> list[QueuedMessage]:
        """Messages that failed for good."""
        return list(self._failed)


class MemoryMailboxes:
    """Mailboxes held in dicts, keyed by lower-cased address."""

    def __init__(self) -> None:
        self._boxes: dict[str, dict[str, bytes]] = {}

    def deliver(self, address: str, data: bytes) -> str:
        """Store a message; return its id."""
        name = new_message_name()
        self._boxes.setdefault(address.lower(), {})[name] = data
        return name

    def list(self, address: str) -> list[StoredMessage]:
        """The mailbox's messages in arrival order."""
        box = self._boxes.get(address.lower(), {})
        return [StoredMessage(name, len(data)) for name, data in box.items()]

    def read(self, address: str, message_id: str) -> bytes:
        """The raw message; KeyError when absent."""
        return self._boxes.get(address.lower(), {})[message_id]

    def delete(self, address: str, message_id: str) -> None:
        """Remove a message; KeyError when absent."""
        del self._boxes.get(address.lower(), {})[message_id]
