# The disk queue recovers from a crash in the middle of a write.
from __future__ import annotations

from pathlib import Path

from roles.mailserver.disk_queue import DiskQueue


def test_a_temporary_file_left_by_a_crash_does_not_block_later_writes(tmp_path: Path) -> None:
    queue = DiskQueue(tmp_path / "queue")
    message = queue.enqueue("alice@crepes.fr", ["bob@hamburger.edu"], b"Subject: x\r\n\r\n")
    (tmp_path / "queue" / f".tmp-{message.id}").write_bytes(b"half a write")
    queue = DiskQueue(tmp_path / "queue")  # restart
    assert not list((tmp_path / "queue").glob(".tmp-*"))
    (tmp_path / "queue" / f".tmp-{message.id}").write_bytes(b"half a write")
    message.attempts = 3
    queue.update(message)  # a stale temporary file while running is replaced too
    assert [m.attempts for m in queue.messages()] == [3]
