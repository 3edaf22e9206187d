# The Dovecot test peer and the IMAP script runner: Dovecot serves a Maildir our store
# wrote (folders, flags, messages, subscriptions), and a script's responses come back normalised
# (status text dropped; UIDVALIDITY, APPENDUID/COPYUID validity and dates masked;
# literals inlined), ready to be compared with another server's.
from __future__ import annotations

from collections.abc import Iterator

import pytest

from roles.mailserver.mailbox_store import MaildirMailboxes
from roles.mailserver.storage import Flag
from tests.conftest import TEST_PLAN
from tests.peers.dovecot import DovecotInstance, running_dovecot
from tests.peers.imap_script import normalise, run_imap_script

BOB = "bob@hamburger.edu"
NETWORK = TEST_PLAN.shared_network("receiver-ua", "receiver-mta")
HOST = TEST_PLAN.address("receiver-mta", NETWORK)
CLIENT = TEST_PLAN.address("receiver-ua", NETWORK)


@pytest.fixture
def dovecot() -> Iterator[DovecotInstance]:
    with running_dovecot({BOB: "ketchup"}, HOST) as instance:
        yield instance


def test_dovecot_reads_our_maildir_and_answers_a_script(dovecot: DovecotInstance) -> None:
    store = MaildirMailboxes(dovecot.mail)
    seen = store.deliver(BOB, b"Subject: one\r\n\r\nfirst\r\n")
    store.set_flags(BOB, seen, {Flag.SEEN, Flag.FLAGGED})
    store.deliver(BOB, b"Subject: two\r\n\r\nsecond\r\n")
    store.create_folder(BOB, "Work.Plans")
    answers = run_imap_script(dovecot.host, dovecot.imap_port, [
        "a LOGIN bob ketchup",
        'b LIST "" "Work*"',
        "c SELECT INBOX",
        "d FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])",
        "e APPEND Work.Plans (\\Draft) {5}",
        "hello",
        "f UID COPY 1 Work.Plans",
        "g IDLE",
        "DONE",
        "h LOGOUT",
    ], source=CLIENT)
    assert answers[0].startswith("* OK [CAPABILITY IMAP4rev1 ")
    assert answers[2:] == [
        '* LIST (\\Noselect \\HasChildren) "." Work',
        '* LIST (\\HasNoChildren) "." Work.Plans',
        "b OK",
        "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)",
        "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)]",
        "* 2 EXISTS",
        "* 2 RECENT",  # Dovecot keeps its own \\Recent: new to it, both are
        "* OK [UNSEEN 2]",
        "* OK [UIDVALIDITY <uidvalidity>]",
        "* OK [UIDNEXT 3]",
        "c OK [READ-WRITE]",
        "* 1 FETCH (FLAGS (\\Flagged \\Seen \\Recent) BODY[HEADER.FIELDS (SUBJECT)] {16}\r\n"
        "Subject: one\r\n\r\n)",
        "* 2 FETCH (FLAGS (\\Recent) BODY[HEADER.FIELDS (SUBJECT)] {16}\r\n"
        "Subject: two\r\n\r\n)",
        "d OK",
        "+",
        "e OK [APPENDUID <uidvalidity> 1]",
        "f OK [COPYUID <uidvalidity> 1 2]",
        "+",
        "g OK",
        "* BYE",
        "h OK",
    ]
    copied = [store.read(BOB, m.id, "Work.Plans") for m in store.list(BOB, "Work.Plans")]
    assert copied == [b"hello", b"Subject: one\r\n\r\nfirst\r\n"]


@pytest.mark.parametrize(("response", "normalised"), [
    (b"a12 OK [READ-WRITE] Select completed (0.001 secs).\r\n", "a12 OK [READ-WRITE]"),
    (b"* NO [ALERT] Disk almost full\r\n", "* NO [ALERT]"),
    (b"x BAD Error in IMAP command\r\n", "x BAD"),
    (b"+ idling\r\n", "+"),
    (b"* OK [UIDVALIDITY 1764230000] UIDs valid\r\n", "* OK [UIDVALIDITY <uidvalidity>]"),
    (b'* 1 FETCH (INTERNALDATE "01-Apr-2024 00:00:00 +0000")\r\n',
     "* 1 FETCH (INTERNALDATE <date>)"),
    (b"* 3 EXISTS\r\n", "* 3 EXISTS"),
])
def test_responses_keep_meaning_and_drop_wording(response: bytes, normalised: str) -> None:
    assert normalise(response) == normalised


def test_dovecot_and_our_store_share_subscriptions(dovecot: DovecotInstance) -> None:
    store = MaildirMailboxes(dovecot.mail)
    store.create_folder(BOB, "Work.Plans")
    store.subscribe(BOB, "Work.Plans")
    answers = run_imap_script(dovecot.host, dovecot.imap_port, [
        "a LOGIN bob ketchup", 'b LSUB "" "*"', "c UNSUBSCRIBE Junk",
        "e LOGOUT"], source=CLIENT)
    assert sorted(a for a in answers if a.startswith("* LSUB")) == [
        '* LSUB () "." INBOX', '* LSUB () "." Junk', '* LSUB () "." Sent',
        '* LSUB () "." Trash', '* LSUB () "." Work.Plans']
    assert store.subscriptions(BOB) == ["INBOX", "Sent", "Trash", "Work.Plans"]
