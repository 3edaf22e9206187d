# The POP3 server state machine joined in memory with a scripted client.
from __future__ import annotations

import pytest

from labctl.protocols import pop3

MAILBOX = [b"Subject: one\r\n\r\n.dot line\r\n", b"Subject: two\r\n\r\nbody\r\n"]


class TinyPop3App:
    """A minimal application over a fixed two-message mailbox, password 'pw'."""

    def __init__(self) -> None:
        self.conn = pop3.ServerConnection()
        self.deleted: set[int] = set()
        self.expunged: set[int] = set()

    def state(self) -> pop3.Pop3State:
        return self.conn.state

    def feed(self, data: bytes) -> bytes:
        """Feed client bytes, answer every event, return what the server wrote."""
        self.conn.receive_data(data)
        out = b""
        while True:
            event = self.conn.next_event()
            if isinstance(event, pop3.NeedData | pop3.ConnectionClosed):
                return out
            out += self.conn.send(self.answer(event))

    def answer(self, event: pop3.Event) -> pop3.Reply:
        if isinstance(event, pop3.ProtocolErrorEvent):
            return event.reply
        assert isinstance(event, pop3.CommandReceived)
        verb, args = event.command.verb, event.command.arguments
        if verb == "PASS":
            return pop3.Reply(event.command.argument == "pw", "login")
        if verb == "RETR":
            return pop3.Reply(True, "follows", MAILBOX[int(args[0]) - 1])
        if verb == "DELE":
            self.deleted.add(int(args[0]))
        if verb == "QUIT" and self.conn.state is pop3.Pop3State.TRANSACTION:
            self.expunged = set(self.deleted)
        return pop3.Reply(True, "")


def test_login_retr_dele_quit() -> None:
    app = TinyPop3App()
    assert app.feed(b"STAT\r\n") == pop3.replies.NOT_BEFORE_LOGIN.to_bytes(verb="STAT")
    assert app.feed(b"PASS pw\r\n") == pop3.replies.SEND_USER_FIRST.to_bytes()
    assert app.feed(b"USER bob\r\n") == b"+OK\r\n"
    assert app.state() is pop3.Pop3State.USER_GIVEN
    assert app.feed(b"PASS wrong\r\n") == b"-ERR login\r\n"
    assert app.state() is pop3.Pop3State.AUTHORIZATION
    app.feed(b"USER bob\r\n")
    assert app.feed(b"PASS pw\r\n") == b"+OK login\r\n"
    assert app.state() is pop3.Pop3State.TRANSACTION
    assert app.feed(b"RETR 1\r\n") == b"+OK follows\r\nSubject: one\r\n\r\n..dot line\r\n.\r\n"
    assert app.feed(b"DELE 2\r\nQUIT\r\n") == b"+OK\r\n+OK\r\n"
    assert app.state() is pop3.Pop3State.UPDATE
    assert app.expunged == {2}


def test_bad_arguments_and_unknown_commands() -> None:
    app = TinyPop3App()
    app.feed(b"USER bob\r\nPASS pw\r\n")
    assert app.feed(b"RETR\r\n").startswith(b"-ERR RETR takes 1-1")
    assert app.feed(b"RETR one\r\n") == pop3.replies.NOT_NUMBERS.to_bytes(verb="RETR", digits=9)
    assert app.feed(b"XYZZ\r\n") == pop3.replies.UNKNOWN_COMMAND.to_bytes(verb="XYZZ")
    assert app.feed(b"\xff\xfe\r\n").startswith(b"-ERR command keyword")
    assert app.feed(b"USER bob\r\n").startswith(b"-ERR USER not allowed")
    assert app.feed(b"LIST " + b"9" * 400 + b"\r\n").startswith(b"-ERR command line longer")
    assert app.feed(b"NOOP\r\n") == b"+OK\r\n"


def test_split_lines_and_eof() -> None:
    app = TinyPop3App()
    assert app.feed(b"US") == b""
    assert app.feed(b"ER bob\r") == b""
    assert app.feed(b"\n") == b"+OK\r\n"
    app.conn.receive_data(b"")
    assert isinstance(app.conn.next_event(), pop3.ConnectionClosed)


@pytest.mark.parametrize("line", [b"RETR \xc2\xb2", b"TOP 1 \xc2\xb3", b"DELE \xd9\xa3",
                                  b"LIST 1\xc2\xb2", b"RETR " + b"9" * 200, b"TOP 1 -1"])
def test_message_numbers_are_bounded_ascii_digits(line: bytes) -> None:
    app = TinyPop3App()
    app.feed(b"USER bob\r\nPASS pw\r\nDELE 1\r\n")
    verb = line.split()[0].decode()
    assert app.feed(line + b"\r\n") == pop3.replies.NOT_NUMBERS.to_bytes(verb=verb, digits=9)
    assert app.state() is pop3.Pop3State.TRANSACTION
    assert app.feed(b"QUIT\r\n") == b"+OK\r\n"
    assert app.expunged == {1}
