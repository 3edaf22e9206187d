# Small pieces of the IMAP server's commands on their own: LIST patterns, the compact
# sequence sets of COPYUID, the IMAP names of the store's flags, and reading the
# messages of a listing at once.
from __future__ import annotations

from pathlib import Path

import pytest

from roles.mailserver.imap_mailbox_commands import pattern_matcher
from roles.mailserver.imap_message_commands import number_set
from roles.mailserver.imap_selected import imap_flags, stored_flags
from roles.mailserver.mailbox_store import MaildirMailboxes
from roles.mailserver.storage import Flag

BOB = "bob@hamburger.edu"


@pytest.mark.parametrize(("pattern", "name", "matches"), [
    ("*", "Work.Plans", True), ("%", "Work.Plans", False), ("%", "Work", True),
    ("Work.%", "Work.Plans", True), ("Work.%", "Work.Plans.2026", False),
    ("Work*", "Work.Plans.2026", True), ("inbox", "INBOX", True), ("inbox", "Inbox2", False),
    ("work", "Work", False), ("W?rk", "Work", False), ("W?rk", "W?rk", True),
    ("a.b", "aXb", False),
])
def test_list_patterns(pattern: str, name: str, matches: bool) -> None:
    assert pattern_matcher(pattern)(name) is matches


@pytest.mark.parametrize(("numbers", "text"), [
    ([1, 2, 3], "1:3"), ([1, 3, 4, 7], "1,3:4,7"), ([5, 4], "5,4"), ([], ""), ([9], "9"),
])
def test_number_sets_are_compact_and_keep_their_order(numbers: list[int], text: str) -> None:
    assert number_set(numbers) == text


def test_flags_between_imap_and_the_store() -> None:
    assert imap_flags({Flag.SEEN, Flag.TRASHED, Flag.PASSED}, recent=True) == [
        "\\Deleted", "\\Seen", "\\Recent"]
    assert stored_flags(["\\SEEN", "\\answered", "\\Recent", "$Junk"]) == {
        Flag.SEEN, Flag.REPLIED}


def test_read_many_finds_moved_messages_and_skips_gone_ones(tmp_path: Path) -> None:
    store = MaildirMailboxes(tmp_path)
    ids = [store.deliver(BOB, f"Subject: {n}\r\n\r\n{n}\r\n".encode()) for n in range(4)]
    listed = store.list(BOB)
    store.set_flags(BOB, ids[1], {Flag.SEEN})  # renamed into cur/ since listed
    store.claim_recent(BOB)  # new/ to cur/
    store.delete(BOB, ids[2])
    found = store.read_many(BOB, [message.id for message in listed])
    assert found == {ids[n]: f"Subject: {n}\r\n\r\n{n}\r\n".encode() for n in (0, 1, 3)}
