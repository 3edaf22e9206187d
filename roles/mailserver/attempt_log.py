# The queue's attempt journal: "this message is being sent now", made durable cheaply.
#
# The relay must record an attempt durably before the final "." of DATA (so that after
# a crash the queue shows that the message may already have arrived). Rewriting the
# message's queue file for that costs a new file, two fsyncs and a rename per message;
# appending one line "<queue id> <attempts>" to DIR/queue/attempts.log and fdatasync-ing
# it costs one write and one flush, shared by the attempts recorded at the same time
# (durable_files.GroupCommit). The attempt counts are folded back into the queue
# files at start only, when nothing else writes them, then the journal is emptied.
# When it passes COMPACT_AT bytes it is rewritten with one line per message still
# queued (delivered ones are forgotten); queue files are never touched at run time, so
# a compaction cannot race the relay's own writes. A torn last line is ignored.
from __future__ import annotations

import logging
import os
import threading
import weakref
from collections.abc import Callable
from pathlib import Path

from roles.mailserver.durable_files import GroupCommit, fsync_directory, write_file_synced

log = logging.getLogger(__name__)
COMPACT_AT = 1024 * 1024


class AttemptLog:
    """Append-only attempt counts per queue id, folded into the queue files at start."""

    def __init__(self, path: Path, fold: Callable[[dict[str, int]], None]) -> None:
        self.path = path
        self._lock = threading.Lock()
        self.counts: dict[str, int] = {}  # queue id -> attempts recorded since start
        fold(self._read())  # at start only: nothing else writes the queue files yet
        self._size = 0
        self._fd = self._replace_with(b"")
        self._closer = weakref.finalize(self, os.close, self._fd)
        self._commits = GroupCommit(self._append)

    def record(self, queue_id: str, attempts: int) -> None:
        """Durably note that `queue_id` has had `attempts` attempts (this one included)."""
        self._commits.submit((queue_id, attempts))

    def _append(self, records: list[tuple[str, int]]) -> None:
        """Append a batch of records with one write and one fdatasync (GroupCommit)."""
        lines = b"".join(f"{queue_id} {attempts}\n".encode("ascii")
                         for queue_id, attempts in records)
        with self._lock:
            os.write(self._fd, lines)
            os.fdatasync(self._fd)
            self.counts.update(records)
            self._size += len(lines)
            if self._size >= COMPACT_AT:
                self._compact()

    def _compact(self) -> None:
        """Rewrite the journal with the counts of the messages still queued."""
        live = dict(self.counts)  # forget() may drop ids meanwhile: a copy, not a view
        lines = b"".join(f"{queue_id} {attempts}\n".encode("ascii")
                         for queue_id, attempts in live.items())
        old, self._fd = self._fd, self._replace_with(lines)
        self._closer.detach()
        os.close(old)
        self._closer = weakref.finalize(self, os.close, self._fd)
        self._size = len(lines)

    def _replace_with(self, content: bytes) -> int:
        """Durably replace the journal by `content`; the new file's descriptor, for appends."""
        temporary = self.path.with_name(self.path.name + ".tmp")
        temporary.unlink(missing_ok=True)
        write_file_synced(temporary, content)
        os.replace(temporary, self.path)
        fsync_directory(self.path.parent)
        return os.open(self.path, os.O_WRONLY | os.O_APPEND)

    def forget(self, queue_id: str) -> None:
        """The message left the queue (its queue file carries its state from now on)."""
        self.counts.pop(queue_id, None)

    def close(self) -> None:
        """Close the journal file (also done when the object is collected)."""
        self._closer()

    def _read(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        if not self.path.exists():
            return counts
        for line in self.path.read_bytes().splitlines():
            queue_id, _, number = line.decode("ascii", "replace").partition(" ")
            if number.isdigit():
                counts[queue_id] = max(counts.get(queue_id, 0), int(number))
            else:
                log.warning("ignoring a torn line in %s: %r", self.path, line[:80])
        return counts
