# The IMAP response catalogue: status lines with response codes, continuations, untagged data.
from __future__ import annotations

import pytest

from labctl.protocols import imap
from labctl.protocols.imap import replies
from labctl.protocols.imap_values import Atom


def test_status_responses_with_codes() -> None:
    assert replies.COPIED.tagged("c1", name="MOVE", uidvalidity=9, source="1:3",
                                 destination="7:9").to_bytes() == (
        b"c1 OK [COPYUID 9 1:3 7:9] MOVE completed\r\n")
    assert replies.PERMANENT_FLAGS.untagged(flags="\\Seen \\*").to_bytes() == (
        b"* OK [PERMANENTFLAGS (\\Seen \\*)] flags permitted\r\n")
    assert replies.TRY_CREATE.tagged("a", mailbox="Old").to_bytes() == (
        b"a NO [TRYCREATE] mailbox Old does not exist\r\n")
    assert replies.ALERT.untagged(text="maintenance at noon").to_bytes() == (
        b"* OK [ALERT] maintenance at noon\r\n")
    assert replies.COMPLETED.tagged("a", name="NOOP").to_bytes() == b"a OK NOOP completed\r\n"


def test_continuations_keep_their_space() -> None:
    assert imap.continuation().to_bytes() == b"+ \r\n"
    assert imap.continuation("Y2hhbGxlbmdl").to_bytes() == b"+ Y2hhbGxlbmdl\r\n"


def test_a_status_must_be_one_of_imaps() -> None:
    with pytest.raises(ValueError, match="not an IMAP status"):
        imap.Response("a", "MAYBE")


def test_untagged_data() -> None:
    assert replies.exists(3).to_bytes() == b"* 3 EXISTS\r\n"
    assert replies.recent(0).to_bytes() == b"* 0 RECENT\r\n"
    assert replies.expunge(2).to_bytes() == b"* 2 EXPUNGE\r\n"
    assert replies.search([]).to_bytes() == b"* SEARCH\r\n"
    assert replies.search([2, 5]).to_bytes() == b"* SEARCH 2 5\r\n"
    assert replies.capability(["IMAP4rev1", "IDLE", "LITERAL+"]).to_bytes() == (
        b"* CAPABILITY IMAP4rev1 IDLE LITERAL+\r\n")
    assert replies.list_entry(["\\HasNoChildren"], "/", "INBOX").to_bytes() == (
        b'* LIST (\\HasNoChildren) "/" INBOX\r\n')
    assert replies.list_entry([], "/", "Mes dossiers", "LSUB").to_bytes() == (
        b'* LSUB () "/" "Mes dossiers"\r\n')
    assert replies.status("Sent", [("MESSAGES", 3), ("UIDNEXT", 7)]).to_bytes() == (
        b'* STATUS Sent (MESSAGES 3 UIDNEXT 7)\r\n')
    assert replies.namespace([("", "/")]).to_bytes() == b'* NAMESPACE (("" "/")) NIL NIL\r\n'


def test_fetch_data_with_a_literal() -> None:
    response = replies.fetch(1, [("UID", 4), ("FLAGS", [Atom("\\Seen")]),
                                 ("BODY[1]<0>", b"Hi\r\n")])
    assert response.to_bytes() == b"* 1 FETCH (UID 4 FLAGS (\\Seen) BODY[1]<0> {4}\r\nHi\r\n)\r\n"
