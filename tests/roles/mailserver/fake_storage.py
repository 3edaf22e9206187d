# In-memory fakes of the storage interface (outgoing queue, mailboxes) for unit tests.
#
# Same behaviour as the disk versions (ordering, UIDs, folders, KeyError/ValueError
# with the same checks from maildir_layout) without durability; the server code cannot
# tell them apart, and test_mailserver_storage.py runs one test class against both.
from __future__ import annotations

import builtins
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from roles.mailserver.maildir_flags import Flag
from roles.mailserver.maildir_layout import (
    INBOX,
    PROTECTED_FOLDERS,
    check_address,
    check_deletable,
    check_folder_name,
    check_message_name,
    from_disk,
    plan_rename,
    to_disk,
)
from roles.mailserver.message_ids import new_message_name
from roles.mailserver.storage import FlagChange, QueuedMessage, StoredMessage


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


@dataclass
class _Folder:
    uid_validity: int
    next_uid: int = 1
    messages: dict[str, tuple[int, bytes, frozenset[Flag]]] = field(default_factory=dict)


class MemoryMailboxes:
    """Mailboxes held in dicts: the Maildir store's behaviour, names and errors, in memory."""

    def __init__(self) -> None:
        self._boxes: dict[str, dict[str, _Folder]] = {}
        self._last_uid_validity = int(time.time())

    def deliver(self, address: str, data: bytes, folder: str = INBOX) -> str:
        """Store a message; return its id."""
        box = self._folder(address, folder)
        name = new_message_name()
        box.messages[name] = (box.next_uid, from_disk(to_disk(data)), frozenset())
        box.next_uid += 1
        return name

    def list(self, address: str, folder: str = INBOX) -> list[StoredMessage]:
        """The folder's messages in UID order."""
        items = self._folder(address, folder).messages.items()
        return [StoredMessage(name, uid, len(data), flags) for name, (uid, data, flags) in items]

    def read(self, address: str, message_id: str, folder: str = INBOX) -> bytes:
        """The raw message; KeyError when absent."""
        return self._message(address, message_id, folder)[1]

    def delete(self, address: str, message_id: str, folder: str = INBOX) -> None:
        """Remove a message; KeyError when absent."""
        self._message(address, message_id, folder)
        del self._folder(address, folder).messages[message_id]

    def set_flags(self, address: str, message_id: str, flags: Iterable[Flag],
                  folder: str = INBOX, how: FlagChange = "replace") -> frozenset[Flag]:
        """Replace, add or remove flags; return the new set."""
        uid, data, old = self._message(address, message_id, folder)
        given = frozenset(flags)
        new = {"replace": given, "add": old | given, "remove": old - given}[how]
        self._folder(address, folder).messages[message_id] = (uid, data, new)
        return new

    def uid_validity(self, address: str, folder: str = INBOX) -> int:
        """The folder's UIDVALIDITY."""
        return self._folder(address, folder).uid_validity

    def folders(self, address: str) -> builtins.list[str]:
        """INBOX first, then the other folders sorted."""
        return [INBOX, *self._subfolders(address)]

    def create_folder(self, address: str, folder: str) -> None:
        """Create an empty folder; ValueError when it exists."""
        name, box = check_folder_name(folder), self._mailbox(address)
        if name in box:
            raise ValueError(f"folder {name!r} exists already in mailbox {address}")
        box[name] = _Folder(self._new_uid_validity())

    def rename_folder(self, address: str, folder: str, new_name: str) -> None:
        """Rename a folder with the folders below it."""
        box = self._mailbox(address)
        for old, new in plan_rename(self._subfolders(address), folder, new_name, address):
            box[new] = box.pop(old)

    def delete_folder(self, address: str, folder: str) -> None:
        """Delete a folder and its messages."""
        del self._mailbox(address)[check_deletable(self._subfolders(address), folder, address)]

    def _mailbox(self, address: str) -> dict[str, _Folder]:
        key = check_address(address)
        if key not in self._boxes:
            self._boxes[key] = {f: _Folder(self._new_uid_validity()) for f in PROTECTED_FOLDERS}
        return self._boxes[key]

    def _subfolders(self, address: str) -> builtins.list[str]:
        return sorted(name for name in self._mailbox(address) if name != INBOX)

    def _folder(self, address: str, folder: str) -> _Folder:
        name, box = check_folder_name(folder), self._mailbox(address)
        if name not in box:
            raise KeyError(f"no folder {name!r} in mailbox {address}")
        return box[name]

    def _message(self, address: str, message_id: str,
                 folder: str) -> tuple[int, bytes, frozenset[Flag]]:
        messages = self._folder(address, folder).messages
        if check_message_name(message_id) not in messages:
            raise KeyError(f"no message {message_id} in folder {folder} of {address}")
        return messages[message_id]

    def _new_uid_validity(self) -> int:
        self._last_uid_validity = max(int(time.time()), self._last_uid_validity + 1)
        return self._last_uid_validity
