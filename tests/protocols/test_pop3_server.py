# The POP3 server state machine joined in memory with a scripted client.
from __future__ import annotations

import pytest

from labctl.protocols import pop3
from tests.protocols.apps import TinyPop3App


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
