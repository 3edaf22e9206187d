# FETCH answers for the fixture messages, compared with what Dovecot answered for them.
from __future__ import annotations

import datetime

import pytest

from labctl.protocols.imap_query import FetchItem, Section
from labctl.protocols.imap_values import Atom, encode
from roles.mailserver.imap_fetch import FetchAnswer, MessageFacts, fetch_item, internal_date
from tests.roles.mailserver import dovecot_answers
from tests.roles.mailserver.dovecot_answers import Fixture, read_values

FIXTURES = dovecot_answers.fixtures()
CASES = [(fixture, spec) for fixture in FIXTURES for spec in fixture.fetches]


def wire(answer: FetchAnswer) -> bytes:
    return answer.name.encode() + b" " + encode(answer.value)


@pytest.mark.parametrize(("fixture", "spec"), CASES,
                         ids=[f"{fixture.name}:{spec}" for fixture, spec in CASES])
def test_answer_is_dovecots(fixture: Fixture, spec: str) -> None:
    answer = fetch_item(fixture.facts, dovecot_answers.fetch_item(spec))
    expected = read_values(fixture.fetches[spec].encode("latin-1"))
    assert read_values(wire(answer)) == expected


def message(raw: bytes, flags: tuple[str, ...] = ()) -> MessageFacts:
    moment = datetime.datetime(1996, 7, 17, 2, 44, 25,
                               tzinfo=datetime.timezone(datetime.timedelta(hours=-7)))
    return MessageFacts(uid=42, flags=flags, internal_date=moment, raw=raw)


def test_simple_items() -> None:
    facts = message(b"Subject: x\r\n\r\nbody\r\n", ("\\Seen", "$Label1"))
    assert fetch_item(facts, FetchItem("UID")) == FetchAnswer("UID", 42, False)
    assert fetch_item(facts, FetchItem("FLAGS")).value == [Atom("\\Seen"), Atom("$Label1")]
    assert encode(fetch_item(facts, FetchItem("INTERNALDATE")).value) == \
        b'"17-Jul-1996 02:44:25 -0700"'
    assert fetch_item(facts, FetchItem("RFC822.SIZE")).value == 20


def test_internal_date_in_its_own_zone() -> None:
    zone = datetime.timezone(datetime.timedelta(hours=5, minutes=30))
    assert internal_date(datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=zone)) == \
        "02-Jan-2026 03:04:05 +0530"


@pytest.mark.parametrize(("item", "sets_seen"), [
    (FetchItem("RFC822"), True), (FetchItem("RFC822.TEXT"), True),
    (FetchItem("RFC822.HEADER"), False), (FetchItem("BODYSTRUCTURE"), False),
    (FetchItem("BODY", Section()), True), (FetchItem("BODY", Section(), peek=True), False),
    (FetchItem("BODY", Section((1,), "MIME")), True)])
def test_which_items_set_seen(item: FetchItem, sets_seen: bool) -> None:
    assert fetch_item(message(b"A: b\r\n\r\nc"), item).sets_seen is sets_seen


def test_rfc822_items_are_the_message_and_its_halves() -> None:
    raw = b"Subject: x\r\n\r\nbody\r\n"
    facts = message(raw)
    assert fetch_item(facts, FetchItem("RFC822")).value == raw
    assert fetch_item(facts, FetchItem("RFC822.HEADER")).value == b"Subject: x\r\n\r\n"
    assert fetch_item(facts, FetchItem("RFC822.TEXT")).value == b"body\r\n"


def test_partial_is_exactly_count_bytes_and_names_only_its_start() -> None:
    facts = message(b"Subject: x\r\n\r\n0123456789")
    answer = fetch_item(facts, FetchItem("BODY", Section((), "TEXT"), True, (2, 3)))
    assert (answer.name, answer.value) == ("BODY[TEXT]<2>", b"234")
    past = fetch_item(facts, FetchItem("BODY", Section((), "TEXT"), True, (20, 3)))
    assert past.value == b""


def test_header_fields_keep_continuation_lines_and_match_any_case() -> None:
    facts = message(b"Subject: a\r\n b\r\nTO: x@y\r\nFrom: z@y\r\n\r\nbody")
    section = Section((), "HEADER.FIELDS", ("subject", "to"))
    assert fetch_item(facts, FetchItem("BODY", section, True)).value == \
        b"Subject: a\r\n b\r\nTO: x@y\r\n\r\n"
    section = Section((), "HEADER.FIELDS.NOT", ("subject", "to"))
    assert fetch_item(facts, FetchItem("BODY", section, True)).value == b"From: z@y\r\n\r\n"


def test_missing_part_is_empty() -> None:
    facts = message(b"Subject: x\r\n\r\nbody")
    assert fetch_item(facts, FetchItem("BODY", Section((2,)), True)).value == b""
    assert fetch_item(facts, FetchItem("BODY", Section((1,)), True)).value == b"body"


def test_unknown_item_is_an_error_naming_it() -> None:
    with pytest.raises(ValueError, match="BOGUS"):
        fetch_item(message(b""), FetchItem("BOGUS"))
