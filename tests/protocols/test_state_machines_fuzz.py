# Whatever bytes a client sends, in whatever chunks, the SMTP and POP3 state machines
# turn them into events and error replies; they never raise and never stall.
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labctl.protocols import pop3, smtp

VOCABULARY = [
    b"EHLO x\r\n", b"HELO x\r\n", b"MAIL FROM:<a@crepes.fr>\r\n", b"RCPT TO:<b@x>\r\n",
    b"DATA\r\n", b".\r\n", b"..\r\n", b"\r\n", b"RSET\r\n", b"NOOP\r\n", b"QUIT\r\n",
    b"AUTH PLAIN\r\n", b"AUTH LOGIN\r\n", b"*\r\n", b"USER bob\r\n", b"PASS x\r\n",
    b"STAT\r\n", b"LIST\r\n", b"RETR 1\r\n", b"DELE 1\r\n", b"\xff\xfe\r\n", b"\n", b"\r",
    b"x" * 1100, b"\x00",
]
chunks = st.lists(
    st.one_of(st.sampled_from(VOCABULARY), st.binary(max_size=40)), max_size=30
)


def smtp_answer(event: object) -> smtp.Reply:
    if isinstance(event, smtp.ProtocolErrorEvent):
        return event.reply
    if isinstance(event, smtp.CommandReceived) and event.command.verb == "DATA":
        return smtp.Reply(354, ("go ahead",))
    return smtp.Reply(250, ("ok",))


def pop3_answer(event: object) -> pop3.Reply:
    if isinstance(event, pop3.ProtocolErrorEvent):
        return event.reply
    return pop3.Reply(True, "ok")


def drain(connection: Any, answer: Callable[[object], Any], idle: tuple[type, ...]) -> None:
    """Answer every event until the machine needs data or is closed."""
    for _ in range(10_000):
        event = connection.next_event()
        if isinstance(event, idle):
            return
        connection.send(answer(event))
    raise AssertionError(f"{type(connection).__module__} produced events without end")


def drain_smtp(connection: smtp.ServerConnection) -> None:
    drain(connection, smtp_answer, (smtp.NeedData, smtp.ConnectionClosed))


def drain_pop3(connection: pop3.ServerConnection) -> None:
    drain(connection, pop3_answer, (pop3.NeedData, pop3.ConnectionClosed))


MACHINES: dict[str, tuple[Callable[[], Any], Callable[[Any], None], type]] = {
    "smtp": (lambda: smtp.ServerConnection(max_message_size=2000), drain_smtp,
             smtp.ConnectionClosed),
    "pop3": (pop3.ServerConnection, drain_pop3, pop3.ConnectionClosed),
}


@pytest.mark.parametrize("protocol", sorted(MACHINES))
@settings(max_examples=300, deadline=None)
@given(data=chunks, close=st.booleans())
def test_server_survives_any_client_bytes(protocol: str, data: list[bytes], close: bool) -> None:
    make, drain_all, closed = MACHINES[protocol]
    connection = make()
    for chunk in data:
        connection.receive_data(chunk)
        drain_all(connection)
    if close:
        connection.receive_data(b"")
        drain_all(connection)
        assert isinstance(connection.next_event(), closed)
