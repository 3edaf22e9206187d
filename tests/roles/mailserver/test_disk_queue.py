# The disk queue recovers from a crash in the middle of a write.
from __future__ import annotations

import threading
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
    queue.wait_for_removals()
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
    queue.wait_for_removals()
    assert not (tmp_path / "queue" / f"{sent.id}.msg").exists()
    assert [(m.id, m.attempts) for m in queue.messages()] == [(kept.id, 3)]
    queue.record_attempt(kept)  # appends go on into the new journal file
    queue.attempt_log.close()
    assert [(m.id, m.attempts) for m in DiskQueue(tmp_path / "queue").messages()] == [
        (kept.id, 3)]


def test_a_delivered_message_leaves_the_listing_before_its_file_is_unlinked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    gate = threading.Event()
    unlink = DiskQueue._unlink

    def slow_unlink(queue: DiskQueue, message_id: str, path: Path) -> None:
        assert gate.wait(10), "the test never opened the gate"
        unlink(queue, message_id, path)

    monkeypatch.setattr(DiskQueue, "_unlink", slow_unlink)  # a journal that makes it wait
    queue = DiskQueue(tmp_path / "queue")
    sent = queue.enqueue("alice@crepes.fr", ["bob@hamburger.edu"], b"Subject: sent\r\n\r\n")
    queue.remove(sent.id)  # returns at once although the unlink is stuck
    sent_file = tmp_path / "queue" / f"{sent.id}.msg"
    assert sent_file.exists() and queue.messages() == []
    gate.set()
    queue.wait_for_removals()
    assert not sent_file.exists() and queue.messages() == []


def test_a_failed_unlink_is_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    queue = DiskQueue(tmp_path / "queue")
    sent = queue.enqueue("alice@crepes.fr", ["bob@hamburger.edu"], b"Subject: sent\r\n\r\n")
    sent_file = tmp_path / "queue" / f"{sent.id}.msg"
    sent_file.unlink()
    sent_file.mkdir()  # a folder in its place: the unlink fails
    queue.remove(sent.id)
    queue.wait_for_removals()
    assert "could not remove delivered message" in caplog.text
