# Line parsers of SMTP and POP3: what the analyzer and the servers rely on.
from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labctl.protocols import ProtocolError, pop3, smtp, smtp_grammar


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"EHLO client.example\r\n", smtp.Command("EHLO", "client.example")),
        (b"mail FROM:<a@crepes.fr> SIZE=10", smtp.Command("MAIL", "FROM:<a@crepes.fr> SIZE=10")),
        (b"DATA\r\n", smtp.Command("DATA", "")),
        (b"QUIT\n", smtp.Command("QUIT", "")),
    ],
)
def test_smtp_parse_command(line: bytes, expected: smtp.Command) -> None:
    assert smtp.parse_command(line) == expected


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (b"\r\n", "empty"),
        (b"   ", "empty"),
        (b"M\xc3\xa4IL FROM:<a@b>", "ASCII"),
        (b"NOOP " + b"x" * 600, "longer than 512"),
        (b"RCPT TO:<\xff@b>", "UTF-8"),
    ],
)
def test_smtp_parse_command_rejects(line: bytes, problem: str) -> None:
    with pytest.raises(ProtocolError, match=problem) as info:
        smtp.parse_command(line)
    assert info.value.line == line


def test_smtp_auth_line_may_be_longer_than_512() -> None:
    assert smtp.parse_command(b"AUTH PLAIN " + b"A" * 1000).verb == "AUTH"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"250-mail.crepes.fr\r\n", (250, False, "mail.crepes.fr")),
        (b"250 OK\r\n", (250, True, "OK")),
        (b"221\r\n", (221, True, "")),
        (b"354 End data with <CR><LF>.<CR><LF>", (354, True, "End data with <CR><LF>.<CR><LF>")),
    ],
)
def test_smtp_parse_reply_line(line: bytes, expected: tuple[int, bool, str]) -> None:
    assert smtp.parse_reply_line(line) == expected


@pytest.mark.parametrize("line", [b"", b"OK", b"25 x", b"250x", b"650 nope", b"+OK hello"])
def test_smtp_parse_reply_line_rejects(line: bytes) -> None:
    with pytest.raises(ProtocolError):
        smtp.parse_reply_line(line)


def test_smtp_reply_to_bytes_multiline() -> None:
    reply = smtp.Reply(250, ("mail.crepes.fr", "8BITMIME", "SIZE 100"))
    assert reply.to_bytes() == b"250-mail.crepes.fr\r\n250-8BITMIME\r\n250 SIZE 100\r\n"


@pytest.mark.parametrize(
    ("argument", "keyword", "expected"),
    [
        ("FROM:<alice@crepes.fr>", "FROM", ("alice@crepes.fr", {})),
        ("FROM: <> BODY=8BITMIME", "FROM", ("", {"BODY": "8BITMIME"})),
        ("to:<@relay:bob@hamburger.edu>", "TO", ("bob@hamburger.edu", {})),
    ],
)
def test_smtp_parse_path(argument: str, keyword: str, expected: tuple[str, dict[str, str]]) -> None:
    assert smtp.parse_path(argument, keyword) == expected


@pytest.mark.parametrize("argument", [
    "FROM:alice@crepes.fr", "TO:<bob@x.edu>", "FROM:<a b@c>", "FROM:<a\0@c>", "FROM:<a@c\x7f>",
    "FROM:<a@c> SIZE=1\x1b", "FROM:<a@c> SIZE=", "FROM:<a@c> A=1 a=2", "FROM:<a@c> =1",
])
def test_smtp_parse_path_rejects(argument: str) -> None:
    with pytest.raises(ProtocolError):
        smtp.parse_path(argument, "FROM")


def test_pop3_parse_command() -> None:
    assert pop3.parse_command(b"retr 1\r\n") == pop3.Command("RETR", "1")
    assert pop3.parse_command(b"PASS a secret") == pop3.Command("PASS", "a secret")


@pytest.mark.parametrize("line", [b"", b"RETRIEVE 1", b"R\xe9TR 1", b"LIST " + b"1" * 300])
def test_pop3_parse_command_rejects(line: bytes) -> None:
    with pytest.raises(ProtocolError):
        pop3.parse_command(line)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"+OK 2 320\r\n", (True, "2 320")),
        (b"-ERR no such message\r\n", (False, "no such message")),
        (b"+OK", (True, "")),
    ],
)
def test_pop3_parse_status_line(line: bytes, expected: tuple[bool, str]) -> None:
    assert pop3.parse_status_line(line) == expected


@pytest.mark.parametrize("line", [b"", b"OK", b"+OKAY", b"250 OK", b"-ER x"])
def test_pop3_parse_status_line_rejects(line: bytes) -> None:
    with pytest.raises(ProtocolError, match="status line"):
        pop3.parse_status_line(line)


def test_pop3_reply_body_is_dot_stuffed() -> None:
    reply = pop3.Reply(True, "message follows", b"Subject: x\r\n\r\n.hidden\r\nend\r\n")
    assert reply.to_bytes() == (
        b"+OK message follows\r\nSubject: x\r\n\r\n..hidden\r\nend\r\n.\r\n"
    )


@given(st.lists(st.sampled_from([b"\r\n", b"\n", b"\r", b".", b"a"]), max_size=12).map(b"".join))
@settings(max_examples=500)
def test_dot_stuffing_is_line_by_line_whatever_the_line_endings(body: bytes) -> None:
    lines = re.split(rb"\r?\n", body)
    if lines[-1] == b"":  # the body ends with a line break
        lines.pop()
    expected = b"".join((b"." + line if line.startswith(b".") else line) + b"\r\n"
                        for line in lines)
    assert smtp_grammar.dot_stuff(body) == expected


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([b"a" * 40, b"b" * 499, b"c" * 500, b"\r\n", b"\r", b"\n",
                                 b"d" * 998, b"\r\n"]), max_size=12),
       st.sampled_from([0, 1, 2, 500, 997, 998, 999, 1000]))
def test_a_long_line_is_found_as_by_cutting_every_line(parts: list[bytes], limit: int) -> None:
    text = b"".join(parts)
    expected = max(map(len, text.split(b"\r\n"))) > limit
    assert smtp_grammar.has_line_longer_than(text, limit) is expected
