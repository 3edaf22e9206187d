# The storage interface, tested on the real implementations: the disk queue and the
# Maildir mailbox store.
from __future__ import annotations

from pathlib import Path

import pytest

from roles.mailserver.disk_queue import DiskQueue
from roles.mailserver.mailbox_store import MaildirMailboxes
from roles.mailserver.storage import Flag, Mailboxes, OutgoingQueue

BOB = "bob@hamburger.edu"
BAD_FOLDER_NAMES = ["", "a/b", "..", ".hidden", "trailing.", "a..b", "nul\x00", "line\nfeed",
                    "del\x7f", "tab\there", "INBOX.sub", "inbox.Sub", "star*", "per%cent"]


@pytest.fixture
def queue(tmp_path: Path) -> OutgoingQueue:
    return DiskQueue(tmp_path / "queue")


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


class TestMailboxes:
    """The Mailboxes contract, on the Maildir store."""

    @pytest.fixture
    def mailboxes(self, tmp_path: Path) -> Mailboxes:
        return MaildirMailboxes(tmp_path / "mailboxes")

    def test_deliver_list_read_delete(self, mailboxes: Mailboxes) -> None:
        assert mailboxes.list(BOB) == []
        ids = [mailboxes.deliver(BOB, f"message {n}\r\n".encode()) for n in range(3)]
        listing = mailboxes.list(BOB)
        assert [(m.id, m.uid, m.size, m.flags) for m in listing] == [
            (ids[n], n + 1, 11, frozenset()) for n in range(3)]
        assert mailboxes.read(BOB, ids[1]) == b"message 1\r\n"
        mailboxes.delete(BOB, ids[1])
        assert [m.id for m in mailboxes.list(BOB)] == [ids[0], ids[2]]
        with pytest.raises(KeyError, match="no message"):
            mailboxes.read(BOB, ids[1])
        with pytest.raises(KeyError, match="no message"):
            mailboxes.delete(BOB, ids[1])

    def test_line_endings_are_crlf_when_read(self, mailboxes: Mailboxes) -> None:
        message_id = mailboxes.deliver(BOB, b"Subject: mixed\r\n\r\nbare\nlines\r\n")
        normalized = b"Subject: mixed\r\n\r\nbare\r\nlines\r\n"
        assert mailboxes.read(BOB, message_id) == normalized
        assert [m.size for m in mailboxes.list(BOB)] == [len(normalized)]

    def test_uids_grow_and_are_never_reused(self, mailboxes: Mailboxes) -> None:
        validity = mailboxes.uid_validity(BOB)
        first, second = (mailboxes.deliver(BOB, b"x\r\n") for _ in range(2))
        assert [m.uid for m in mailboxes.list(BOB)] == [1, 2]  # UIDs given when first seen
        mailboxes.delete(BOB, second)
        third = mailboxes.deliver(BOB, b"y\r\n")
        assert [(m.id, m.uid) for m in mailboxes.list(BOB)] == [(first, 1), (third, 3)]
        assert mailboxes.uid_validity(BOB) == validity

    def test_standard_folders_exist_from_the_start(self, mailboxes: Mailboxes) -> None:
        assert mailboxes.folders(BOB) == ["INBOX", "Junk", "Sent", "Trash"]
        junk = mailboxes.deliver(BOB, b"spam\r\n", folder="Junk")
        assert [m.id for m in mailboxes.list(BOB, "Junk")] == [junk]
        assert mailboxes.list(BOB) == [] and mailboxes.list(BOB, "inbox") == []
        assert mailboxes.read(BOB, junk, "Junk") == b"spam\r\n"
        with pytest.raises(KeyError):
            mailboxes.read(BOB, junk)  # not in INBOX

    def test_delivery_to_an_unknown_folder_is_refused(self, mailboxes: Mailboxes) -> None:
        with pytest.raises(KeyError, match=r"no folder 'Archive' in mailbox bob@hamburger\.edu"):
            mailboxes.deliver(BOB, b"x\r\n", folder="Archive")
        assert mailboxes.list(BOB) == []

    @pytest.mark.parametrize("name", BAD_FOLDER_NAMES)
    def test_bad_folder_names_are_refused(self, mailboxes: Mailboxes, name: str) -> None:
        with pytest.raises(ValueError, match="invalid folder name"):
            mailboxes.create_folder(BOB, name)
        with pytest.raises(ValueError, match="invalid folder name"):
            mailboxes.deliver(BOB, b"x\r\n", folder=name)
        assert mailboxes.folders(BOB) == ["INBOX", "Junk", "Sent", "Trash"]

    def test_bad_addresses_and_message_ids(self, mailboxes: Mailboxes) -> None:
        with pytest.raises(KeyError, match="not a valid mailbox address"):
            mailboxes.list("../../etc@x")
        with pytest.raises(KeyError, match="not a valid message id"):
            mailboxes.read(BOB, "../secret")

    def test_flags_replace_add_remove(self, mailboxes: Mailboxes) -> None:
        message_id = mailboxes.deliver(BOB, b"flag me\r\n")
        seen, replied = {Flag.SEEN}, {Flag.REPLIED, Flag.FLAGGED}
        assert mailboxes.set_flags(BOB, message_id, seen) == seen
        assert mailboxes.set_flags(BOB, message_id, replied, how="add") == seen | replied
        assert mailboxes.set_flags(BOB, message_id, {Flag.FLAGGED}, how="remove") == {
            Flag.SEEN, Flag.REPLIED}
        (stored,) = mailboxes.list(BOB)
        assert (stored.id, stored.uid) == (message_id, 1)
        assert stored.flags == {Flag.SEEN, Flag.REPLIED}
        assert mailboxes.read(BOB, message_id) == b"flag me\r\n"
        assert mailboxes.set_flags(BOB, message_id, ()) == frozenset()
        with pytest.raises(KeyError):
            mailboxes.set_flags(BOB, "12345.nothere", seen)

    def test_create_rename_delete_folders(self, mailboxes: Mailboxes) -> None:
        mailboxes.create_folder(BOB, "Work")
        mailboxes.create_folder(BOB, "Work.Plans")
        kept = mailboxes.deliver(BOB, b"plan\r\n", folder="Work.Plans")
        validity = mailboxes.uid_validity(BOB, "Work.Plans")
        mailboxes.rename_folder(BOB, "Work", "Projects")
        assert mailboxes.folders(BOB) == ["INBOX", "Junk", "Projects", "Projects.Plans", "Sent",
                                          "Trash"]
        assert [(m.id, m.uid) for m in mailboxes.list(BOB, "Projects.Plans")] == [(kept, 1)]
        assert mailboxes.uid_validity(BOB, "Projects.Plans") == validity
        with pytest.raises(ValueError, match="holds folders"):
            mailboxes.delete_folder(BOB, "Projects")
        mailboxes.delete_folder(BOB, "Projects.Plans")
        mailboxes.delete_folder(BOB, "Projects")
        assert mailboxes.folders(BOB) == ["INBOX", "Junk", "Sent", "Trash"]
        mailboxes.create_folder(BOB, "Projects")
        assert mailboxes.list(BOB, "Projects") == []
        assert mailboxes.uid_validity(BOB, "Projects") > validity

    def test_folder_changes_that_are_refused(self, mailboxes: Mailboxes) -> None:
        mailboxes.create_folder(BOB, "Work")
        for protected in ("INBOX", "inbox", "Sent", "Junk", "Trash"):
            with pytest.raises(ValueError, match="cannot be renamed or deleted"):
                mailboxes.delete_folder(BOB, protected)
            with pytest.raises(ValueError, match="cannot be renamed or deleted"):
                mailboxes.rename_folder(BOB, protected, "Other")
        with pytest.raises(ValueError, match="exists already"):
            mailboxes.create_folder(BOB, "Work")
        with pytest.raises(ValueError, match="exists already"):
            mailboxes.create_folder(BOB, "INBOX")
        with pytest.raises(ValueError, match="exists already"):
            mailboxes.rename_folder(BOB, "Work", "Junk")
        with pytest.raises(ValueError, match="below itself"):
            mailboxes.rename_folder(BOB, "Work", "Work.Deeper")
        with pytest.raises(KeyError, match="no folder 'Nope'"):
            mailboxes.rename_folder(BOB, "Nope", "Other")
        with pytest.raises(KeyError, match="no folder 'Nope'"):
            mailboxes.delete_folder(BOB, "Nope")
        assert mailboxes.folders(BOB) == ["INBOX", "Junk", "Sent", "Trash", "Work"]
