# Whatever bytes a client sends, in whatever chunks, the SMTP and POP3 state machines
# turn them into events and error replies; they never raise and never stall.
from __future__ import annotations

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


def drain_smtp(connection: smtp.ServerConnection) -> None:
    for _ in range(10_000):
        event = connection.next_event()
        if isinstance(event, smtp.NeedData | smtp.ConnectionClosed):
            return
        if isinstance(event, smtp.ProtocolErrorEvent):
            connection.send(event.reply)
        elif isinstance(event, smtp.CommandReceived) and event.command.verb == "DATA":
            connection.send(smtp.Reply(354, ("go ahead",)))
        else:
            connection.send(smtp.Reply(250, ("ok",)))
    raise AssertionError("the SMTP state machine produced events without end")


def drain_pop3(connection: pop3.ServerConnection) -> None:
    for _ in range(10_000):
        event = connection.next_event()
        if isinstance(event, pop3.NeedData | pop3.ConnectionClosed):
            return
        if isinstance(event, pop3.ProtocolErrorEvent):
            connection.send(event.reply)
        else:
            connection.send(pop3.Reply(True, "ok"))
    raise AssertionError("the POP3 state machine produced events without end")


@settings(max_examples=300, deadline=None)
@given(chunks, st.booleans())
def test_smtp_server_survives_any_client_bytes(data: list[bytes], close: bool) -> None:
    connection = smtp.ServerConnection(max_message_size=2000)
    for chunk in data:
        connection.receive_data(chunk)
        drain_smtp(connection)
    if close:
        connection.receive_data(b"")
        drain_smtp(connection)
        assert isinstance(connection.next_event(), smtp.ConnectionClosed)


@settings(max_examples=300, deadline=None)
@given(chunks, st.booleans())
def test_pop3_server_survives_any_client_bytes(data: list[bytes], close: bool) -> None:
    connection = pop3.ServerConnection()
    for chunk in data:
        connection.receive_data(chunk)
        drain_pop3(connection)
    if close:
        connection.receive_data(b"")
        drain_pop3(connection)
        assert isinstance(connection.next_event(), pop3.ConnectionClosed)
