# Small pieces of the IMAP server's commands on their own: LIST patterns, the compact
# sequence sets of COPYUID, and the IMAP names of the store's flags.
from __future__ import annotations

import pytest

from roles.mailserver.imap_mailbox_commands import pattern_matcher
from roles.mailserver.imap_message_commands import number_set
from roles.mailserver.imap_selected import imap_flags, stored_flags
from roles.mailserver.storage import Flag


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
