# The outgoing queue on disk: one inspectable file per message in DIR/queue/.
#
# File format: the first line is a JSON object with the envelope and the delivery
# state (mail_from, rcpt_tos, created, attempts, next_attempt, last_error), the rest
# of the file is the raw message exactly as received. `head -1 DIR/queue/*.msg`
# shows the envelopes. Every change is written to a temporary file, fsynced and
# renamed over the old one, and the folder fsynced (one folder fsync for the writes
# made at the same time, durable_files.GroupCommit), so a crash leaves either the
# old or the new state (a temporary file a crash left behind is removed at start).
# Attempts in progress go to a cheaper journal (attempt_log.py). Removing a delivered
# message does not fsync the folder, and the unlink itself runs on a background thread:
# on a busy ext4 an unlink can wait milliseconds for the journal, which must not stall
# the relay's event loop. The message leaves messages() at once; a crash before its
# unlink can at worst bring back a delivered message (sent once more), never lose one.
# Failed messages move to DIR/queue/failed/.
from __future__ import annotations

import functools
import json
import logging
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from roles.mailserver.attempt_log import AttemptLog
from roles.mailserver.durable_files import GroupCommit, fsync_directory, write_file_synced
from roles.mailserver.message_ids import new_message_name
from roles.mailserver.storage import QueuedMessage

log = logging.getLogger(__name__)
SUFFIX = ".msg"
_unlinker = ThreadPoolExecutor(1, thread_name_prefix="maillab-queue-unlink")  # in order


class DiskQueue:
    """OutgoingQueue stored as one file per message under `directory`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.failed_directory = directory / "failed"
        self.failed_directory.mkdir(parents=True, exist_ok=True)
        for folder in (directory, self.failed_directory):  # left by a crash mid-write
            for stale in folder.glob(".tmp-*"):
                stale.unlink(missing_ok=True)
        self._renames = {folder: GroupCommit(functools.partial(self._rename_all, folder))
                         for folder in (directory, self.failed_directory)}
        self.attempt_log = AttemptLog(directory / "attempts.log", self._fold_attempts)
        self._unlinking: set[str] = set()  # removed, the file not yet unlinked
        self._unlinking_lock = threading.Lock()

    def enqueue(self, mail_from: str, rcpt_tos: Sequence[str], data: bytes,
                queue_id: str | None = None) -> QueuedMessage:
        """Store a new message durably and return it."""
        message = QueuedMessage(queue_id or new_message_name(), mail_from, list(rcpt_tos), data,
                                time.time())
        self._write(message, self.directory)
        return message

    def messages(self) -> list[QueuedMessage]:
        """All queued messages, oldest first."""
        removed = self._removed_now()
        listed = self._read_all(self.directory)
        removed |= self._removed_now()  # before or while listing: gone either way
        messages = [m for m in listed if m.id not in removed]
        for message in messages:
            journaled = self.attempt_log.counts.get(message.id, 0)
            message.attempts = max(message.attempts, journaled)
        return messages

    def update(self, message: QueuedMessage) -> None:
        """Durably record a message's new delivery state."""
        self._write(message, self.directory)

    def record_attempt(self, message: QueuedMessage) -> None:
        """Durably record that `message` is being sent now (its attempts counted)."""
        self.attempt_log.record(message.id, message.attempts)

    def remove(self, message_id: str) -> None:
        """Drop a delivered message from the queue: gone from messages() at once, its file
        unlinked in the background (no folder fsync, see above). FileNotFoundError when
        it is not (or no longer) queued."""
        path = self._path(self.directory, message_id)
        with self._unlinking_lock:
            if message_id in self._unlinking or not path.exists():  # a stat: no journal wait
                raise FileNotFoundError(f"no queued message {message_id}")
            self._unlinking.add(message_id)
        self.attempt_log.forget(message_id)
        _unlinker.submit(self._unlink, message_id, path)

    def wait_for_removals(self) -> None:
        """Return once every removal asked for so far has unlinked its file."""
        _unlinker.submit(lambda: None).result()

    def _removed_now(self) -> set[str]:
        with self._unlinking_lock:
            return set(self._unlinking)

    def _unlink(self, message_id: str, path: Path) -> None:
        try:
            path.unlink()
        except OSError as exc:  # it stays on disk: sent once more after a restart
            log.error("could not remove delivered message %s: %s", path, exc)
        finally:
            with self._unlinking_lock:
                self._unlinking.discard(message_id)

    def fail(self, message: QueuedMessage, error: str) -> None:
        """Move a message to failed/ with its error recorded."""
        message.last_error = error
        self._write(message, self.failed_directory)
        self.remove(message.id)

    def failed(self) -> list[QueuedMessage]:
        """Messages that failed for good."""
        return self._read_all(self.failed_directory)

    def _fold_attempts(self, counts: dict[str, int]) -> None:
        for message in self._read_all(self.directory):
            if counts.get(message.id, 0) > message.attempts:
                message.attempts = counts[message.id]
                self._write(message, self.directory)

    def _path(self, directory: Path, message_id: str) -> Path:
        if not message_id or "/" in message_id or message_id.startswith("."):
            raise KeyError(f"invalid queue id {message_id!r}")
        return directory / f"{message_id}{SUFFIX}"

    def _write(self, message: QueuedMessage, directory: Path) -> None:
        envelope = {
            "mail_from": message.mail_from, "rcpt_tos": message.rcpt_tos,
            "created": message.created, "attempts": message.attempts,
            "next_attempt": message.next_attempt, "last_error": message.last_error,
        }
        content = json.dumps(envelope).encode("utf-8") + b"\n" + message.data
        final, temporary = self._path(directory, message.id), directory / f".tmp-{message.id}"
        try:
            write_file_synced(temporary, content)
        except FileExistsError:  # left by a write that failed half-way: replace it
            temporary.unlink()
            write_file_synced(temporary, content)
        self._renames[directory].submit((temporary, final))

    @staticmethod
    def _rename_all(directory: Path, renames: list[tuple[Path, Path]]) -> None:
        """Rename a batch of fsynced temporary files over their targets, fsync the folder."""
        for temporary, final in renames:
            os.replace(temporary, final)
        fsync_directory(directory)

    def _read_all(self, directory: Path) -> list[QueuedMessage]:
        messages = []
        for path in sorted(directory.glob(f"*{SUFFIX}")):
            try:
                messages.append(_parse_queue_file(path))
            except FileNotFoundError:  # delivered (removed) while we were listing
                continue
            except (ValueError, KeyError, TypeError) as exc:
                log.error("unreadable queue file %s: %s", path, exc)
        return messages


def _parse_queue_file(path: Path) -> QueuedMessage:
    """Read one queue file; ValueError naming the file when it is malformed."""
    head, newline, data = path.read_bytes().partition(b"\n")
    if not newline:
        raise ValueError(f"{path}: no envelope line")
    envelope = json.loads(head)
    return QueuedMessage(
        id=path.name.removesuffix(SUFFIX),
        mail_from=str(envelope["mail_from"]),
        rcpt_tos=[str(r) for r in envelope["rcpt_tos"]],
        data=data,
        created=float(envelope["created"]),
        attempts=int(envelope["attempts"]),
        next_attempt=float(envelope["next_attempt"]),
        last_error=envelope["last_error"],
    )
