# The disk queue recovers from a crash in the middle of a write.
from __future__ import annotations

from pathlib import Path

import pytest

from roles.mailserver import attempt_log
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


def test_an_attempt_recorded_before_a_crash_shows_after_restart(tmp_path: Path) -> None:
    queue = DiskQueue(tmp_path / "queue")
    kept = queue.enqueue("alice@crepes.fr", ["bob@hamburger.edu"], b"Subject: kept\r\n\r\n")
    gone = queue.enqueue("alice@crepes.fr", ["bob@hamburger.edu"], b"Subject: gone\r\n\r\n")
    for message in (kept, gone):
        message.attempts = 1
        queue.record_attempt(message)
    queue.remove(gone.id)
    assert [(m.id, m.attempts) for m in queue.messages()] == [(kept.id, 1)]
    journal = tmp_path / "queue" / "attempts.log"
    assert journal.read_bytes().splitlines() == [f"{kept.id} 1".encode(), f"{gone.id} 1".encode()]
    with journal.open("ab") as torn:
        torn.write(b"half-a-li")  # the process died in the middle of a record
    queue.attempt_log.close()
    restarted = DiskQueue(tmp_path / "queue")  # folds the journal into the queue files
    assert journal.read_bytes() == b""
    assert [(m.id, m.attempts) for m in restarted.messages()] == [(kept.id, 1)]
    assert (tmp_path / "queue" / f"{kept.id}.msg").read_bytes().startswith(b"{")
    assert b'"attempts": 1' in (tmp_path / "queue" / f"{kept.id}.msg").read_bytes()


def test_a_full_journal_keeps_only_queued_messages_and_never_rewrites_queue_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(attempt_log, "COMPACT_AT", 64)
    queue = DiskQueue(tmp_path / "queue")
    kept = queue.enqueue("alice@crepes.fr", ["bob@hamburger.edu"], b"Subject: kept\r\n\r\n")
    sent = queue.enqueue("alice@crepes.fr", ["bob@hamburger.edu"], b"Subject: sent\r\n\r\n")
    kept_file = tmp_path / "queue" / f"{kept.id}.msg"
    before = kept_file.read_bytes()
    for attempts in (1, 2):
        for message in (kept, sent):
            message.attempts = attempts
            queue.record_attempt(message)
    queue.remove(sent.id)  # delivered: it must not come back with the compaction
    kept.attempts = 3
    queue.record_attempt(kept)  # the journal passes 64 bytes: it is compacted
    journal = tmp_path / "queue" / "attempts.log"
    assert journal.read_bytes().splitlines() == [f"{kept.id} 3".encode()]
    assert kept_file.read_bytes() == before, "a queue file was rewritten at run time"
    assert not (tmp_path / "queue" / f"{sent.id}.msg").exists()
    assert [(m.id, m.attempts) for m in queue.messages()] == [(kept.id, 3)]
    queue.record_attempt(kept)  # appends go on into the new journal file
    queue.attempt_log.close()
    assert [(m.id, m.attempts) for m in DiskQueue(tmp_path / "queue").messages()] == [
        (kept.id, 3)]
