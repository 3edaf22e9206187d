# The storage interface: disk and memory implementations pass the same tests.
from __future__ import annotations

from pathlib import Path

import pytest

from roles.mailserver.disk_queue import DiskQueue
from roles.mailserver.maildir import MaildirMailboxes
from roles.mailserver.memory_storage import MemoryMailboxes, MemoryQueue
from roles.mailserver.storage import Mailboxes, OutgoingQueue

BOB = "bob@hamburger.edu"


@pytest.fixture(params=["disk", "memory"])
def queue(request: pytest.FixtureRequest, tmp_path: Path) -> OutgoingQueue:
    return DiskQueue(tmp_path / "queue") if request.param == "disk" else MemoryQueue()


@pytest.fixture(params=["maildir", "memory"])
def mailboxes(request: pytest.FixtureRequest, tmp_path: Path) -> Mailboxes:
    return MaildirMailboxes(tmp_path / "mb") if request.param == "maildir" else MemoryMailboxes()


def test_queue_enqueue_update_fail_remove(queue: OutgoingQueue) -> None:
    first = queue.enqueue("alice@crepes.fr", [BOB], b"Message-ID: <1@x>\r\n\r\none\r\n")
    second = queue.enqueue("alice@crepes.fr", [BOB], b"two\r\n")
    assert [m.id for m in queue.messages()] == [first.id, second.id]
    assert queue.messages()[0].message_id == "<1@x>"
    first.attempts, first.last_error = 2, "connection refused"
    queue.update(first)
    updated = queue.messages()[0]
    assert (updated.attempts, updated.last_error) == (2, "connection refused")
    queue.fail(first, "550 no such user")
    assert [m.last_error for m in queue.failed()] == ["550 no such user"]
    queue.remove(second.id)
    assert queue.messages() == []


def test_mailboxes_deliver_list_read_delete(mailboxes: Mailboxes) -> None:
    assert mailboxes.list(BOB) == []
    ids = [mailboxes.deliver(BOB, f"message {n}\r\n".encode()) for n in range(3)]
    assert [m.id for m in mailboxes.list(BOB)] == ids
    assert mailboxes.read(BOB, ids[1]) == b"message 1\r\n"
    mailboxes.delete(BOB, ids[1])
    assert [m.id for m in mailboxes.list(BOB)] == [ids[0], ids[2]]
    with pytest.raises(KeyError):
        mailboxes.read(BOB, ids[1])


def test_maildir_layout_and_bad_names(tmp_path: Path) -> None:
    store = MaildirMailboxes(tmp_path)
    message_id = store.deliver(BOB, b"x\r\n")
    assert (tmp_path / BOB / "new" / message_id).read_bytes() == b"x\r\n"
    assert list((tmp_path / BOB / "tmp").iterdir()) == []
    with pytest.raises(KeyError, match="not a valid mailbox address"):
        store.list("../../etc@x")
    with pytest.raises(KeyError, match="not a valid message id"):
        store.read(BOB, "../secret")
