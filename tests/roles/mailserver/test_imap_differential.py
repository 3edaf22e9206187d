# The differential test of the IMAP server: each script below runs against a real
# Dovecot and against maillab's server, both serving the same Maildir content (the
# same fixture messages delivered by the same mailbox store code into each), and the
# normalised responses (tests/peers/imap_script.py) must be the same.
#
# Where maillab deliberately answers otherwise than Dovecot, comparable() below says
# so and evens it out; it is the one place, and every rule in it is one known difference:
#   - capabilities: each server lists its own ([CAPABILITY ...] and `* CAPABILITY` masked);
#   - \Recent: Dovecot keeps its own record of which messages are new to it (its
#     dovecot-uidlist), maillab the Maildir new/ folder, so the two never agree on which
#     messages are recent: `* n RECENT` lines are dropped, \Recent is taken out of flag
#     lists and RECENT out of STATUS;
#   - keywords: Dovecot keeps them (PERMANENTFLAGS ends with \*), maillab does not;
#   - `* OK [CLOSED]`: Dovecot's (RFC 7162 QRESYNC) note when a SELECT replaces a
#     selected mailbox; maillab offers no QRESYNC and sends none;
#   - [BADCHARSET (...)]: maillab lists the charsets it supports (RFC 3501 allows it);
#   - SELECT, EXAMINE or STATUS of a missing folder: maillab says why (NO [NONEXISTENT],
#     RFC 5530), Dovecot answers a bare NO;
#   - LIST/LSUB order: Dovecot lists folders in directory order, maillab sorted;
#   - a string that could be quoted but came as a literal (Dovecot sends a folded header
#     value so, in ENVELOPE) compares as the quoted string: the same value.
# Differences the scripts avoid (tested against maillab alone in test_imap_session.py):
# Dovecot deletes Sent/Junk/Trash and parents of other folders and renames INBOX,
# maillab refuses (NO [CANNOT]); Dovecot refuses APPEND to a missing folder before the
# `+` of a synchronizing literal, maillab after the literal (both NO [TRYCREATE]);
# Dovecot answers STATUS and DELETE INBOX without a response code.
from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from roles.mailserver.mailbox_store import MaildirMailboxes
from roles.mailserver.server import MailServer
from roles.mailserver.storage import Flag, Mailboxes
from tests.conftest import TEST_PLAN
from tests.peers.dovecot import DovecotInstance, running_dovecot
from tests.peers.imap_script import run_imap_script
from tests.roles.conftest import StartServer

BOB, BOB_PW = "bob@hamburger.edu", "bob-pw"
NETWORK = TEST_PLAN.shared_network("receiver-ua", "receiver-mta")
HOST = TEST_PLAN.address("receiver-mta", NETWORK)
CLIENT = TEST_PLAN.address("receiver-ua", NETWORK)
MESSAGES = Path(__file__).parents[2] / "data" / "messages"
FIXTURES = ("plain.eml", "mixed-attachment.eml", "alternative.eml", "nested-rfc822.eml",
            "eight-bit.eml", "digest.eml")
LOGIN = f"a LOGIN bob {BOB_PW}"
MESSAGE = "From: Carol <carol@example.org>\r\nSubject: appended\r\n\r\nHello Bob\r\n"

SCRIPTS: dict[str, list[str]] = {
    "fetch": [
        LOGIN, 'b LIST "" "*"', "c SELECT INBOX",
        "d FETCH 1:* (FLAGS UID RFC822.SIZE ENVELOPE)",
        "e FETCH 1:* BODYSTRUCTURE",
        "f FETCH 2:3 (BODY)",
        "g FETCH 2 (BODY.PEEK[1] BODY.PEEK[1.MIME] BODY.PEEK[HEADER.FIELDS (From Subject)])",
        "h FETCH 2 (BODY.PEEK[2]<10.20> BODY.PEEK[HEADER.FIELDS.NOT (Subject To)]<0.50>)",
        "i FETCH 4 (BODY.PEEK[2.1] BODY.PEEK[2.HEADER] BODY.PEEK[2.TEXT]<0.30>)",
        "j FETCH 1 (RFC822.HEADER RFC822.SIZE INTERNALDATE)",
        "k FETCH 3 BODY[TEXT]", "l FETCH 1 RFC822", "m UID FETCH 1:* (FLAGS)",
        "n FETCH 5 (BODY.PEEK[9] BODY.PEEK[1.2.3])", "o FETCH 1:2 FAST",
        "p IDLE", "DONE", "q EXAMINE INBOX", "r FETCH 1:* FLAGS", "s LOGOUT",
    ],
    "flags-search-transfer": [
        LOGIN, "b SELECT INBOX",
        "c STORE 1 +FLAGS (\\Flagged)", "d STORE 2 FLAGS.SILENT (\\Seen \\Answered)",
        "e UID STORE 3 -FLAGS (\\Seen)", "f STORE 4:5 +FLAGS (\\Draft \\Seen)",
        "g SEARCH FLAGGED", "h SEARCH UNSEEN", "i UID SEARCH SUBJECT ketchup",
        "j SEARCH FROM alice", "k SEARCH OR SEEN FLAGGED", "l SEARCH NOT DRAFT 2:*",
        "m SEARCH BODY pickles", "n SEARCH LARGER 1000", "o SEARCH HEADER Content-Type mixed",
        "p COPY 1:2 Trash", "q UID COPY 4,6 Junk", "r MOVE 2 Junk", "s UID MOVE 5:6 Trash",
        "t STORE 1 +FLAGS (\\Deleted)", "u FETCH 1:* (UID FLAGS)", "v EXPUNGE",
        "w STORE 1:2 +FLAGS.SILENT (\\Deleted)", "x UID EXPUNGE 4", "y FETCH 1:* (UID FLAGS)",
        "z CLOSE", "a1 SELECT Junk", "a2 FETCH 1:* (UID FLAGS BODY.PEEK[HEADER.FIELDS (Subject)])",
        "a3 UNSELECT", "a4 SELECT Trash", "a5 UID SEARCH ALL", "a6 LOGOUT",
    ],
    "folders": [
        LOGIN, "b CREATE Work", "c CREATE Work.Plans", "d CREATE Work",
        "e CREATE Projects.2026.", 'f LIST "" "*"', 'g LIST "" "%"', 'h LIST "" "Work.%"',
        'i LIST "" ""', 'j LIST Work "*"', 'k LIST "" "inbox"',
        "l RENAME Work.Plans Work.Ideas", "m RENAME Nowhere Else",
        "n RENAME Work.Ideas Sent", "o SUBSCRIBE Work.Ideas", 'p LSUB "" "*"',
        'p2 LSUB "" "%"', 'p3 LSUB "" "Work.%"',
        "q UNSUBSCRIBE Work.Ideas", 'r LSUB "" "W*"', "s DELETE Work.Ideas",
        "t DELETE Nowhere", 'u LIST "" "*"', "v NAMESPACE", "w CREATE INBOX",
        'x CREATE "Mes dossiers"', 'y LIST "" "Mes*"', 'z SELECT "Mes dossiers"', "a1 LOGOUT",
    ],
    "append-status": [
        LOGIN, "b STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY UNSEEN)",
        f'c APPEND Sent (\\Seen) "01-Feb-2026 10:00:00 +0100" {{{len(MESSAGE)}}}', MESSAGE,
        f"d APPEND Sent {{{len(MESSAGE)}+}}", MESSAGE,
        "e STATUS Sent (MESSAGES UIDNEXT UNSEEN)", "f SELECT Sent",
        "g FETCH 1:* (FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[])",
        f"h APPEND Sent (\\Flagged) {{{len(MESSAGE)}+}}", MESSAGE, "i NOOP",
        "j FETCH 3 (UID FLAGS)", "k CHECK", "l LOGOUT",
    ],
    "literals": [
        "a LOGIN {3}", "bob {6}", BOB_PW, "b SELECT {5+}", "INBOX",
        "c SEARCH SUBJECT {7+}", "ketchup", "d CREATE {4}", "Toys",
        'e LIST "" {1+}', "*", "f STATUS {4}", "Toys (MESSAGES)", "g LOGOUT",
    ],
    "empty-folder": [
        LOGIN, "b SELECT Trash", "c FETCH 1:* FLAGS", "d UID FETCH 1:* FLAGS",
        "e SEARCH ALL", "f UID SEARCH ALL", "g UID STORE 1:* +FLAGS (\\Seen)", "h EXPUNGE",
        "i UID COPY 1:* Junk", "j STATUS Junk (MESSAGES RECENT UIDNEXT UNSEEN)", "k CLOSE",
        "l LOGOUT",
    ],
    "errors": [
        "a LOGIN bob wrong", "b FOO", "c AUTHENTICATE PLAIN", "AGJvYgBib2ItcHc=",
        "hello world", "d FETCH 1 FLAGS", "e LOGIN bob bob-pw", "f SELECT Nowhere",
        "g FETCH 1 FLAGS", "h SELECT INBOX", "i FETCH 99 FLAGS", "j UID FETCH 99 FLAGS",
        "k SEARCH CHARSET X-UNKNOWN ALL", "l FETCH 1 (BODY[]", "m COPY 1 Nowhere",
        f"n APPEND Nowhere {{{len(MESSAGE)}+}}", MESSAGE, "o STORE 1 +FLAGS (\\Bogus",
        "p UID FOO 1", "q AUTHENTICATE PLAIN AGJvYgBib2ItcHc=", "r LOGOUT",
    ],
}


def populate(store: Mailboxes) -> None:
    """The same mailbox for both servers: fixture messages, a flag, subscriptions."""
    ids = [store.deliver(BOB, (MESSAGES / name).read_bytes()) for name in FIXTURES]
    store.set_flags(BOB, ids[0], {Flag.SEEN})
    store.subscribe(BOB, "INBOX")  # the subscriptions file both servers read


_CAPABILITIES = re.compile(r"\[CAPABILITY [^\]]*\]|^\* CAPABILITY .*$")
_RECENT_FLAG = re.compile(r" ?\\Recent")
_STATUS_RECENT = re.compile(r"RECENT \d+ ?")
_LITERAL = re.compile(r"\{(\d+)\}\r\n")


def _quoted_literals(text: str) -> str:
    """Literals holding printable ASCII only, as quoted strings."""
    pieces, position = [], 0
    while (found := _LITERAL.search(text, position)) is not None:
        end = found.end() + int(found.group(1))
        content = text[found.end():end]
        quotable = content.isascii() and content.isprintable()
        escaped = content.replace("\\", "\\\\").replace('"', '\\"')
        pieces += [text[position:found.start()],
                   f'"{escaped}"' if quotable else text[found.start():end]]
        position = end
    return "".join(pieces) + text[position:]


def comparable(answers: list[str], script: list[str]) -> list[str]:
    """Normalised responses to `script` with maillab's deliberate differences evened out
    (see the module header, one rule per difference)."""
    opening = {line.split(" ")[0]: line.split(" ")[1].upper() for line in script if " " in line}
    result: list[str] = []
    listing: list[str] = []
    for answer in answers:
        text = _quoted_literals(_CAPABILITIES.sub("<capabilities>", answer))
        if re.fullmatch(r"\* \d+ RECENT|\* OK \[CLOSED\]", text):
            continue
        if "FETCH (" in text and "FLAGS (" in text:
            text = _RECENT_FLAG.sub("", text).replace("FLAGS ( ", "FLAGS (")
        if text.startswith("* STATUS "):
            text = _STATUS_RECENT.sub("", text).replace(" )", ")")
        text = text.replace(" \\*)]", ")]").replace("[BADCHARSET (US-ASCII UTF-8)]",
                                                    "[BADCHARSET]")
        tag = text.split(" ")[0]
        if opening.get(tag) in ("SELECT", "EXAMINE", "STATUS"):
            text = text.replace(" NO [NONEXISTENT]", " NO")
        if text.startswith(("* LIST ", "* LSUB ")):
            listing.append(text)
            continue
        result += [*sorted(listing), text]
        listing = []
    return result + sorted(listing)


@pytest.fixture
def dovecot() -> Iterator[DovecotInstance]:
    with running_dovecot({BOB: BOB_PW}, HOST) as instance:
        populate(MaildirMailboxes(instance.mail))
        yield instance


@pytest.mark.parametrize("name", sorted(SCRIPTS))
async def test_same_answers_as_dovecot(name: str, dovecot: DovecotInstance,
                                       start_server: StartServer) -> None:
    server: MailServer = await start_server("receiver-mta")
    populate(server.mailboxes)
    script = SCRIPTS[name]
    theirs = await asyncio.to_thread(run_imap_script, dovecot.host, dovecot.imap_port, script,
                                     CLIENT)
    ours = await asyncio.to_thread(run_imap_script, *server.address("imap"), script, CLIENT)
    assert "\n".join(comparable(ours, script)) == "\n".join(comparable(theirs, script))


def test_comparable_evens_out_only_the_listed_differences() -> None:
    assert comparable([
        "* OK [CAPABILITY IMAP4rev1 IDLE]", "* 2 RECENT", "* OK [CLOSED]",
        "* 1 FETCH (FLAGS (\\Seen \\Recent))", "* 2 FETCH (FLAGS (\\Recent))",
        "* STATUS INBOX (MESSAGES 2 RECENT 1 UNSEEN 0)",
        "* OK [PERMANENTFLAGS (\\Seen \\*)]", '* LIST () "." b', '* LIST () "." a', "b OK",
        "c NO [NONEXISTENT]", "d NO [NONEXISTENT]", "* 1 FETCH (ENVELOPE ({3}\r\nabc))",
    ], ["b LIST", "c SELECT x", "d DELETE x"]) == [
        "* OK <capabilities>", "* 1 FETCH (FLAGS (\\Seen))", "* 2 FETCH (FLAGS ())",
        "* STATUS INBOX (MESSAGES 2 UNSEEN 0)", "* OK [PERMANENTFLAGS (\\Seen)]",
        '* LIST () "." a', '* LIST () "." b', "b OK", "c NO", "d NO [NONEXISTENT]",
        '* 1 FETCH (ENVELOPE ("abc"))',
    ]
    assert comparable(["* 3 EXISTS", "* 1 EXPUNGE", "* 1 FETCH ({2}\r\n\xe9)"], []) == [
        "* 3 EXISTS", "* 1 EXPUNGE", "* 1 FETCH ({2}\r\n\xe9)"]
