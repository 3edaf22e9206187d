# A real IMAP client (the standard library's imaplib) against the IMAP state machine:
# what imaplib sends must parse, and what the machine's catalogue writes imaplib must read.
from __future__ import annotations

import imaplib
import socket
import threading
from collections.abc import Iterator

import pytest

from labctl.model import INTERNET
from labctl.protocols.imap import replies
from tests.conftest import TEST_PLAN
from tests.protocols.test_imap_server import TinyImapApp

HOST = TEST_PLAN.address("receiver-mta", INTERNET)


def serve_one(listener: socket.socket, app: TinyImapApp) -> None:
    """Accept one client and run the app over it until either side closes."""
    connection, _ = listener.accept()
    with connection:
        connection.sendall(app.conn.send(replies.GREETING.untagged(
            hostname="mail.hamburger.edu", capabilities="IMAP4rev1 LITERAL+")))
        while data := connection.recv(65536):
            connection.sendall(app.feed(data))
            if app.conn.state.value == "logout":
                return


@pytest.fixture
def served() -> Iterator[tuple[TinyImapApp, int]]:
    app = TinyImapApp()
    with socket.socket() as listener:
        listener.bind((HOST, 0))
        listener.listen(1)
        thread = threading.Thread(target=serve_one, args=(listener, app), daemon=True)
        thread.start()
        yield app, listener.getsockname()[1]
        thread.join(timeout=10)


def test_imaplib_login_select_append_logout(served: tuple[TinyImapApp, int]) -> None:
    app, port = served
    client = imaplib.IMAP4(HOST, port)
    assert client.login("alice", "pw")[0] == "OK"
    assert client.select("INBOX") == ("OK", [b"0"])
    status, data = client.append("INBOX", "(\\Seen)", None, b"Subject: hi\r\n\r\nhello\r\n")
    assert (status, data) == ("OK", [b"[APPENDUID 7 1] APPEND completed"])
    assert app.appended == [b"Subject: hi\r\n\r\nhello\r\n"]
    assert client.logout()[0] == "BYE"


def test_imaplib_authenticate_plain(served: tuple[TinyImapApp, int]) -> None:
    _, port = served
    client = imaplib.IMAP4(HOST, port)
    status, _ = client.authenticate("PLAIN", lambda _challenge: b"\0alice\0pw")
    assert status == "OK"
    assert client.state == "AUTH"
    client.logout()
