# Mailboxes as Maildir folders (DIR/mailboxes/<address>/{tmp,new,cur}), crash-safe.
#
# Delivery writes tmp/<name>, fsyncs it, renames it into new/ and fsyncs new/ (the
# stdlib mailbox.Maildir skips the folder fsync, so a crash could lose the rename).
# A message's id is its unique name without the ":2,flags" info part, so it stays
# stable when a reader moves it to cur/.
from __future__ import annotations

import re
from pathlib import Path

from roles.mailserver.durable_files import remove_durably, replace_durably
from roles.mailserver.message_ids import new_message_name
from roles.mailserver.storage import StoredMessage

_ADDRESS = re.compile(r"[a-z0-9_+-][a-z0-9._+-]*@[a-z0-9-][a-z0-9.-]*")
_MESSAGE_ID = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")


class MaildirMailboxes:
    """Mailboxes stored as one Maildir per address under `directory`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def deliver(self, address: str, data: bytes) -> str:
        """Store a message durably in new/ of the address's Maildir; return its id."""
        root = self._maildir(address)
        for sub in ("tmp", "new", "cur"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        name = new_message_name()
        replace_durably(root / "tmp" / name, root / "new" / name, data)
        return name

    def list(self, address: str) -> list[StoredMessage]:
        """The mailbox's messages in arrival order."""
        root = self._maildir(address)
        folders = [root / sub for sub in ("new", "cur") if (root / sub).is_dir()]
        found = [p for folder in folders for p in folder.iterdir() if not p.name.startswith(".")]
        messages = [StoredMessage(p.name.split(":", 1)[0], p.stat().st_size) for p in found]
        return sorted(messages, key=lambda m: _arrival_key(m.id))

    def read(self, address: str, message_id: str) -> bytes:
        """The raw message; KeyError when there is no such message."""
        return self._find(address, message_id).read_bytes()

    def delete(self, address: str, message_id: str) -> None:
        """Remove a message and fsync its folder; KeyError when there is no such message."""
        remove_durably(self._find(address, message_id))

    def _maildir(self, address: str) -> Path:
        normalized = address.lower()
        if not _ADDRESS.fullmatch(normalized) or ".." in normalized:
            raise KeyError(f"not a valid mailbox address: {address!r}")
        return self.directory / normalized

    def _find(self, address: str, message_id: str) -> Path:
        if not _MESSAGE_ID.fullmatch(message_id):
            raise KeyError(f"not a valid message id: {message_id!r}")
        root = self._maildir(address)
        candidates = [root / "new" / message_id, *(root / "cur").glob(f"{message_id}:*")]
        candidates.append(root / "cur" / message_id)
        for path in candidates:
            if path.is_file():
                return path
        raise KeyError(f"no message {message_id} in mailbox {address}")


def _arrival_key(name: str) -> tuple[int, str]:
    stamp = name.split(".", 1)[0]
    return (int(stamp) if stamp.isdigit() else 0, name)
