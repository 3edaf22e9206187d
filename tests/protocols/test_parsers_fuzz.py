# Property tests of the command and reply parsers and of the machines' memory use:
# any input gives a result or a ProtocolError (never another exception), every error
# event carries a sendable error reply, and no input makes a machine hold megabytes.
from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labctl.protocols import ProtocolError, pop3, smtp
from labctl.protocols.smtp_grammar import parse_parameters

PREFIXES = [b"MAIL FROM:<", b"RCPT TO:<", b"EHLO ", b"AUTH PLAIN ", b"RETR ", b"TOP 1 ",
            b"APOP bob ", b"USER ", b"STARTTLS", b"STLS", b"250-", b"+OK [", b"-ERR "]
lines = st.one_of(
    st.binary(max_size=600),
    st.tuples(st.sampled_from(PREFIXES), st.binary(max_size=80)).map(b"".join),
    st.tuples(st.sampled_from(PREFIXES), st.text(max_size=40)).map(
        lambda p: p[0] + p[1].encode("utf-8")),
)
BYTE_PARSERS: dict[str, Callable[[bytes], object]] = {
    "smtp.parse_command": smtp.parse_command, "smtp.parse_reply_line": smtp.parse_reply_line,
    "pop3.parse_command": pop3.parse_command, "pop3.parse_status_line": pop3.parse_status_line,
}
TEXT_PARSERS: dict[str, Callable[[str], object]] = {
    "parse_path FROM": lambda t: smtp.parse_path(t, "FROM"),
    "parse_path TO": lambda t: smtp.parse_path(t, "TO"),
    "parse_parameters": parse_parameters,
    "split_response_code": pop3.split_response_code,
}


@pytest.mark.parametrize("parser", sorted(BYTE_PARSERS))
@settings(max_examples=400, deadline=None)
@given(line=lines)
def test_byte_parsers_raise_only_protocol_error(parser: str, line: bytes) -> None:
    try:
        BYTE_PARSERS[parser](line)
    except ProtocolError as exc:
        assert exc.reason


@pytest.mark.parametrize("parser", sorted(TEXT_PARSERS))
@settings(max_examples=400, deadline=None)
@given(text=st.one_of(st.text(max_size=80), st.tuples(
    st.sampled_from(["FROM:<", "TO:<", "FROM:<a@b> ", "[IN-USE] "]), st.text(max_size=60)
).map("".join)))
def test_text_parsers_raise_only_protocol_error(parser: str, text: str) -> None:
    try:
        TEXT_PARSERS[parser](text)
    except ProtocolError as exc:
        assert exc.reason


def answer_everything(conn: Any, ok_reply: Any, is_idle: Callable[[object], bool]) -> None:
    """Answer each event: errors with their own reply, which must be a sendable error."""
    for _ in range(5_000):
        event = conn.next_event()
        if is_idle(event):
            return
        if isinstance(event, smtp.ProtocolErrorEvent):
            reply = event.reply
            refused = not reply.ok if isinstance(reply, pop3.Reply) else reply.code >= 400
            assert refused, reply
            assert reply.to_bytes().endswith(b"\r\n")
            conn.send(reply)
        else:
            conn.send(ok_reply(event))
    raise AssertionError("events without end")


def smtp_ok(event: object) -> smtp.Reply:
    if isinstance(event, smtp.CommandReceived) and event.command.verb == "DATA":
        return smtp.replies.START_MAIL_INPUT()
    if isinstance(event, smtp.CommandReceived) and event.command.verb == "STARTTLS":
        return smtp.replies.READY_TO_START_TLS()
    if isinstance(event, smtp.AuthRequested):
        return smtp.replies.AUTH_CHALLENGE(challenge="")
    return smtp.replies.OK()


def smtp_machine() -> tuple[Any, Callable[[Any], None]]:
    conn = smtp.ServerConnection(max_message_size=100_000, smtputf8=True, starttls=True)
    idle = (smtp.NeedData, smtp.ConnectionClosed)
    return conn, lambda c: answer_everything(c, smtp_ok, lambda e: isinstance(e, idle))


def pop3_machine() -> tuple[Any, Callable[[Any], None]]:
    conn = pop3.ServerConnection(stls=True)
    idle = (pop3.NeedData, pop3.ConnectionClosed)
    return conn, lambda c: answer_everything(c, lambda e: pop3.replies.DONE(),
                                             lambda e: isinstance(e, idle))


@pytest.mark.parametrize("make", [smtp_machine, pop3_machine], ids=["smtp", "pop3"])
@settings(max_examples=300, deadline=None)
@given(data=st.lists(lines.map(lambda line: line + b"\r\n"), max_size=25))
def test_every_event_is_answerable(make: Callable[[], tuple[Any, Any]], data: list[bytes]) -> None:
    conn, drain = make()
    for chunk in data:
        conn.receive_data(chunk)
        drain(conn)


# (what the client does first, then megabytes of it): the machine must keep little.
FLOODS = {
    "smtp command without newline": (smtp_machine, b"", b"x" * 65536),
    "smtp AUTH line without newline": (smtp_machine, b"EHLO c\r\nAUTH PLAIN\r\n", b"A" * 65536),
    "smtp DATA without newline": (
        smtp_machine, b"EHLO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n", b"y" * 65536),
    "smtp DATA of short lines": (
        smtp_machine, b"EHLO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n",
        (b"z" * 62 + b"\r\n") * 1024),
    "pop3 command without newline": (pop3_machine, b"", b"9" * 65536),
}


@pytest.mark.parametrize("flood", sorted(FLOODS))
def test_megabytes_of_input_keep_memory_bounded(flood: str) -> None:
    make, start, chunk = FLOODS[flood]
    conn, drain = make()
    if start:
        conn.receive_data(start)
        drain(conn)
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        for _ in range(128):  # 8 MiB in all
            conn.receive_data(chunk)
            drain(conn)
        held = tracemalloc.get_traced_memory()[0] - baseline
    finally:
        tracemalloc.stop()
    assert held < 400_000, f"{flood}: {held} bytes still held after 8 MiB"


@pytest.mark.parametrize("make", [smtp_machine, pop3_machine], ids=["smtp", "pop3"])
def test_bytes_after_the_peer_closed_are_dropped(make: Callable[[], tuple[Any, Any]]) -> None:
    conn, _ = make()
    conn.receive_data(b"")
    for _ in range(64):
        conn.receive_data(b"NOOP\r\n" * 1000)
    assert isinstance(conn.next_event(), smtp.ConnectionClosed)
    assert len(conn._buffer) == 0
