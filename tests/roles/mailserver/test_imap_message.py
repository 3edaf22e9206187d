# The MIME part tree over a raw message: offsets, broken MIME, and any bytes at all.
from __future__ import annotations

import datetime
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from labctl.protocols.imap_query import FetchItem, Section
from labctl.protocols.imap_values import Adjacent, encode
from roles.mailserver.imap_fetch import MessageFacts, fetch_item, find_part
from roles.mailserver.imap_message import MAX_DEPTH, MessagePart, parse_message

MIXED = (b"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
         b"preamble\r\n--b1\r\nContent-Type: text/plain\r\n\r\none\r\n"
         b"--b1\r\n\r\ntwo\r\n--b1--\r\nepilogue\r\n")


def test_parts_are_slices_between_boundaries() -> None:
    message = parse_message(MIXED)
    assert [child.body for child in message.children] == [b"one", b"two"]
    assert message.children[0].header == b"Content-Type: text/plain\r\n\r\n"
    assert message.children[1].header == b"\r\n"
    assert message.body.endswith(b"epilogue\r\n")


def test_header_fields_fold_and_keep_offsets() -> None:
    raw = b"Subject: one\r\n two\r\nX-Empty:\r\nno colon here\r\n\r\nbody"
    message = parse_message(raw)
    assert [field.name for field in message.fields] == ["Subject", "X-Empty", ""]
    subject = message.fields[0]
    assert raw[subject.start:subject.end] == b"Subject: one\r\n two\r\n"
    assert message.field_value("subject") == b"one two"
    assert message.field_value("X-Empty") == b""
    assert message.field_value("Missing") is None


def test_no_blank_line_makes_everything_header() -> None:
    message = parse_message(b"From: a@b\r\nSubject: x")
    assert (message.header, message.body, message.has_blank_line) == (
        b"From: a@b\r\nSubject: x", b"", False)


def test_bare_lf_ends_lines_and_boundaries() -> None:
    message = parse_message(b"Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n--b--\n")
    assert [child.body for child in message.children] == [b"x"]


def test_missing_close_delimiter_ends_the_last_part_at_the_end() -> None:
    message = parse_message(b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nrest")
    assert [child.body for child in message.children] == [b"rest"]


def test_content_type_defaults_and_parameters() -> None:
    message = parse_message(b"Content-Type: Text/HTML; Charset=\"UTF-8\" (comment); x\r\n\r\n")
    assert (message.content_type.type, message.content_type.subtype) == ("text", "html")
    assert message.content_type.parameter("charset") == "UTF-8"
    invalid = parse_message(b"Content-Type: text/\r\nContent-Type: text/html\r\n\r\n")
    assert (invalid.content_type.type, invalid.content_type.subtype) == ("", "")


def test_message_rfc822_part_holds_a_message() -> None:
    raw = (b"Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\ninner body")
    inner = parse_message(raw).message
    assert inner is not None
    assert inner.field_value("Subject") == b"inner"
    assert inner.body == b"inner body"


def nested(depth: int) -> bytes:
    """`depth` multiparts, each inside the previous one, around a text part."""
    raw = b"Content-Type: text/plain\r\n\r\ncore"
    for level in range(depth):
        boundary = b"n%d" % level
        raw = (b"Content-Type: multipart/mixed; boundary=" + boundary + b"\r\n\r\n--" + boundary
               + b"\r\n" + raw + b"\r\n--" + boundary + b"--\r\n")
    return raw


def test_deep_nesting_stops_at_the_limit() -> None:
    message = parse_message(nested(200))
    part: MessagePart = message
    depth = 0
    while part.children:
        part = part.children[0]
        depth += 1
    assert depth == MAX_DEPTH
    facts = MessageFacts(1, (), datetime.datetime.now(datetime.UTC), nested(200))
    structure = fetch_item(facts, FetchItem("BODYSTRUCTURE")).value
    for _ in range(MAX_DEPTH):  # a multipart: (its parts, one after the other) subtype ...
        assert isinstance(structure, list) and isinstance(structure[0], Adjacent)
        structure = structure[0][0]
    assert isinstance(structure, list)
    assert structure[:3] == ["application", "octet-stream", ["boundary", "n100"]]


def paths(part: MessagePart, prefix: tuple[int, ...] = ()) -> list[tuple[int, ...]]:
    """Every part number in the tree under `part`."""
    result = [prefix] if prefix else []
    holder = part.message if prefix and part.message is not None else part
    for index, child in enumerate(holder.children, 1):
        result += paths(child, (*prefix, index))
    if not prefix and not part.is_multipart:
        result.append((1,))  # the body of a message that is not multipart
    return result


LINES = st.sampled_from([
    b"Content-Type: multipart/mixed; boundary=b", b"Content-Type: multipart/alternative;",
    b" boundary=\"b\"", b"Content-Type: message/rfc822",
    b"Content-Type: multipart/digest; boundary=b",
    b"--b", b"--b--", b"", b"Subject: =?utf-8?q?x?=", b"From: \"a\" <b@c>, (x) d:;",
    b"Content-Transfer-Encoding: base64", b"To: <@a:b@c", b"\xff\xfe: x", b"text"])


@st.composite
def mime_like(draw: st.DrawFn) -> bytes:
    lines = draw(st.lists(st.one_of(LINES, st.binary(max_size=12)), max_size=40))
    breaks = draw(st.lists(st.sampled_from([b"\r\n", b"\n", b"\r"]), min_size=len(lines),
                           max_size=len(lines)))
    return b"".join(line + end for line, end in zip(lines, breaks, strict=True))


@settings(max_examples=300, deadline=None)
@given(raw=st.one_of(st.binary(max_size=400), mime_like()),
       start=st.integers(0, 50), count=st.integers(0, 50))
def test_any_bytes_answer_and_sections_are_slices(raw: bytes, start: int, count: int) -> None:
    facts = MessageFacts(1, (), datetime.datetime.now(datetime.UTC), raw)
    for name in ("ENVELOPE", "BODYSTRUCTURE", "BODY", "RFC822.HEADER", "RFC822.TEXT"):
        encode(fetch_item(facts, FetchItem(name)).value)
    for path in paths(facts.message):
        part = find_part(facts.message, path)
        assert part is not None
        assert 0 <= part.start <= part.body_start <= part.end <= len(raw)
        for text in (None, "MIME"):
            answer = fetch_item(facts, FetchItem("BODY", Section(path, text), True,
                                                 (start, count)))
            whole = part.body if text is None else part.header
            assert answer.value == whole[start:start + count]
            assert isinstance(answer.value, bytes)
            assert len(answer.value) <= count
            assert answer.value in raw


def _first_blank_line(raw: bytes) -> tuple[int, bool]:
    """Where the body starts, found line by line (lines end with LF): the reference."""
    position = 0
    for line in re.findall(rb"[^\n]*\n|[^\n]+", raw):
        if line in (b"\r\n", b"\n"):
            return position + len(line), True
        position += len(line)
    return len(raw), False


@given(st.lists(st.sampled_from([b"\r\n", b"\n", b"\r", b"a", b":", b" ", b"\n\n"]),
                max_size=16).map(b"".join))
@settings(max_examples=500)
def test_the_header_ends_at_the_first_blank_line(raw: bytes) -> None:
    message = parse_message(raw)
    assert (message.body_start, message.has_blank_line) == _first_blank_line(raw)
