# SEARCH on the fixture messages, compared with what Dovecot found, and unit cases.
from __future__ import annotations

import datetime

import pytest

from labctl.protocols.imap_query import SEARCH_KEYS, SearchKey
from roles.mailserver.imap_fetch import MessageFacts
from roles.mailserver.imap_message import parse_message
from roles.mailserver.imap_search import SearchTarget, decoded_header, matches, sent_date
from tests.roles.mailserver import dovecot_answers
from tests.roles.mailserver.search_programs import search_program, sequence_set

FIXTURES = dovecot_answers.fixtures()
SEARCHES: dict[str, list[int]] = dovecot_answers.ANSWERS["searches"]


def targets() -> list[SearchTarget]:
    return [SearchTarget(fixture.facts, fixture.sequence, fixture.recent, len(FIXTURES),
                         len(FIXTURES)) for fixture in FIXTURES]


@pytest.mark.parametrize("criteria", list(SEARCHES))
def test_finds_what_dovecot_finds(criteria: str) -> None:
    program = search_program(criteria)
    found = [target.sequence for target in targets() if matches(program, target)]
    assert found == SEARCHES[criteria]


def test_every_search_key_is_compared_with_dovecot() -> None:
    used: set[str] = set()

    def walk(key: SearchKey) -> None:
        used.add(key.name)
        for operand in key.operands:
            walk(operand)

    for criteria in SEARCHES:
        walk(search_program(criteria))
    assert set(SEARCH_KEYS) | {"SEQUENCE", "AND"} <= used


def target(raw: bytes, flags: tuple[str, ...] = (), recent: bool = False) -> SearchTarget:
    moment = datetime.datetime(2026, 3, 1, 23, 30,
                               tzinfo=datetime.timezone(datetime.timedelta(hours=1)))
    facts = MessageFacts(uid=7, flags=flags, internal_date=moment, raw=raw)
    return SearchTarget(facts, sequence=3, recent=recent, largest_sequence=5, largest_uid=9)


def key(name: str, *arguments: object) -> SearchKey:
    return SearchKey(name, tuple(arguments))  # type: ignore[arg-type]


def test_new_is_recent_and_unseen() -> None:
    assert matches(key("NEW"), target(b"", recent=True))
    assert not matches(key("NEW"), target(b"", ("\\Seen",), recent=True))
    assert not matches(key("NEW"), target(b""))
    assert matches(key("OLD"), target(b""))


def test_star_is_the_largest_number() -> None:
    assert matches(key("UID", sequence_set("7:*")), target(b""))  # UID 7, largest 9
    assert not matches(key("UID", sequence_set("8:*")), target(b""))
    assert matches(key("UID", sequence_set("*:5")), target(b""))  # 5:9
    assert not matches(key("SEQUENCE", sequence_set("4:*")), target(b""))
    assert matches(key("SEQUENCE", sequence_set("*:3")), target(b""))


def test_body_search_undoes_base64_and_charset() -> None:
    raw = (b"Content-Type: text/plain; charset=iso-8859-1\r\n"
           b"Content-Transfer-Encoding: base64\r\n\r\n" + b"Q3LqcGVz\r\n")  # "Crêpes"
    assert matches(key("BODY", "CRÊPES"), target(raw))
    assert not matches(key("BODY", "Q3LqcGVz"), target(raw))


def test_header_keys_decode_encoded_words_but_not_on_the_wire() -> None:
    raw = b"Subject: =?ISO-8859-1?Q?caf=E9?= au lait\r\n\r\n"
    assert matches(key("SUBJECT", "CAFÉ AU"), target(raw))
    assert not matches(key("SUBJECT", "=E9"), target(raw))
    assert decoded_header(b"=?unknown-charset?Q?x?=") == "=?unknown-charset?Q?x?="


def test_sent_dates_ignore_time_and_zone() -> None:
    part = parse_message(b"Date: Thu, 5 Mar 2026 23:59:59 -0500\r\n\r\n")
    assert sent_date(part) == datetime.date(2026, 3, 5)
    assert sent_date(parse_message(b"Date: yesterday\r\n\r\n")) == datetime.date(1970, 1, 1)


def test_internal_date_compares_its_own_day() -> None:
    assert matches(key("ON", datetime.date(2026, 3, 1)), target(b""))
    assert matches(key("BEFORE", datetime.date(2026, 3, 2)), target(b""))
    assert not matches(key("SINCE", datetime.date(2026, 3, 2)), target(b""))


def test_unknown_key_is_an_error_naming_it() -> None:
    with pytest.raises(ValueError, match="BOGUS"):
        matches(key("BOGUS"), target(b""))
