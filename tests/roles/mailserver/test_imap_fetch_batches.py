# A FETCH of many messages answered a batch at a time (bounded in messages and octets,
# the tagged response and the view's changes last), and a new selection that learns of
# changes announced between its SELECT's listing and the I/O layer's watch.
from __future__ import annotations

import re
from pathlib import Path

from labctl.protocols import imap
from roles.mailserver.imap_listener import _SelectionWatch
from roles.mailserver.imap_message_commands import BATCH_MESSAGES, BATCH_OCTETS, batches
from roles.mailserver.imap_session import ImapSession
from roles.mailserver.mailbox_store import MaildirMailboxes
from roles.mailserver.settings import MailServerSettings
from roles.mailserver.storage import Flag, StoredMessage
from tests.conftest import TEST_INSTANCE

BOB = "bob@hamburger.edu"


class Client:
    """One IMAP session behind the real server state machine, in memory."""

    def __init__(self, tmp_path: Path, store: MaildirMailboxes) -> None:
        settings = MailServerSettings.for_role("receiver-mta", "local", tmp_path,
                                               instance=TEST_INSTANCE)
        self.session = ImapSession(settings, "127.0.0.1", store)
        self.machine = imap.ServerConnection()
        self.machine.send(self.session.greeting())

    def batches(self, line: str) -> list[bytes]:
        """The responses to one command line, one bytes per batch."""
        self.machine.receive_data(line.encode() + b"\r\n")
        event = self.machine.next_event()
        return [b"".join(self.machine.send(response) for response in batch)
                for batch in self.session.handle_in_batches(event)]


def stored(sizes: list[int]) -> list[tuple[int, StoredMessage]]:
    return [(n, StoredMessage(f"m{n}", n, size)) for n, size in enumerate(sizes, 1)]


def test_batches_are_bounded_in_messages_and_octets() -> None:
    many = stored([10] * (2 * BATCH_MESSAGES + 1))
    assert [len(batch) for batch in batches(many)] == [BATCH_MESSAGES, BATCH_MESSAGES, 1]
    assert [pair for batch in batches(many) for pair in batch] == many
    large = stored([BATCH_OCTETS // 2, BATCH_OCTETS // 2, 1, 2 * BATCH_OCTETS, 5])
    assert [[n for n, _ in batch] for batch in batches(large)] == [[1, 2], [3], [4], [5]]
    assert batches([]) == [[]]


def test_a_fetch_of_many_messages_comes_in_batches_each_message_once(tmp_path: Path) -> None:
    store = MaildirMailboxes(tmp_path / "mail")
    count = BATCH_MESSAGES * 2 + 5
    for number in range(1, count + 1):
        store.deliver(BOB, f"Subject: {number}\r\n\r\nbody {number}\r\n".encode())
    client = Client(tmp_path, store)
    client.batches("a LOGIN bob bob-pw")
    client.batches("b SELECT INBOX")
    store.deliver(BOB, b"Subject: late\r\n\r\nlate\r\n")  # reported before the tagged OK
    client.session.folder_changed = True
    sent = client.batches("c FETCH 1:* (UID BODY[])")
    assert len(sent) == 3 and all(b"c OK" not in batch for batch in sent[:-1])
    assert sent[-1].endswith(b"* %d EXISTS\r\n* %d RECENT\r\nc OK FETCH completed\r\n"
                             % (count + 1, count + 1))
    answers = re.findall(rb"\* (\d+) FETCH \(UID (\d+) FLAGS \(\\Seen \\Recent\) "
                         rb"BODY\[\] \{\d+\}\r\nSubject: (\d+)\r\n", b"".join(sent))
    assert answers == [(b"%d" % n,) * 3 for n in range(1, count + 1)]
    assert all(Flag.SEEN in message.flags for message in store.list(BOB)[:count])


async def test_a_new_selection_learns_of_changes_made_before_its_watch(
        tmp_path: Path) -> None:
    store = MaildirMailboxes(tmp_path / "mail")
    store.deliver(BOB, b"Subject: first\r\n\r\nfirst\r\n")
    for change_in_between, expected in ((False, False), (True, True)):
        client = Client(tmp_path, store)
        client.batches("a LOGIN bob bob-pw")
        client.batches("b SELECT INBOX")
        if change_in_between:  # after SELECT listed the folder, before the watch
            store.deliver(BOB, b"Subject: second\r\n\r\nsecond\r\n")
        watch = _SelectionWatch(store.events)
        watch.follow(client.session)
        assert client.session.folder_changed is expected
        watch.close()


def test_a_batch_whose_messages_are_all_gone_still_ends_with_the_tagged_response(
        tmp_path: Path) -> None:
    store = MaildirMailboxes(tmp_path / "mail")
    ids = [store.deliver(BOB, f"Subject: {n}\r\n\r\n{n}\r\n".encode())
           for n in range(1, BATCH_MESSAGES + 3)]
    client = Client(tmp_path, store)
    client.batches("a LOGIN bob bob-pw")
    client.batches("b SELECT INBOX")
    store.delete_messages(BOB, ids[:BATCH_MESSAGES])  # another session expunged them
    sent = client.batches("c FETCH 1:* (BODY.PEEK[])")
    assert all(sent) and sent[-1].endswith(b"c OK FETCH completed\r\n")
    assert re.findall(rb"\* (\d+) FETCH", b"".join(sent)) == [
        b"%d" % (BATCH_MESSAGES + 1), b"%d" % (BATCH_MESSAGES + 2)]
