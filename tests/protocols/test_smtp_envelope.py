# MAIL FROM / RCPT TO through the SMTP state machine: control characters, non-ASCII
# addresses and SMTPUTF8 (RFC 6531), BODY= (RFC 6152), unknown parameters.
from __future__ import annotations

import pytest

from labctl.protocols import smtp
from tests.protocols.apps import EchoApp


def ready_app(smtputf8: bool = False) -> EchoApp:
    app = EchoApp()
    app.conn = smtp.ServerConnection(max_message_size=10_000, smtputf8=smtputf8)
    app.feed(b"EHLO c\r\n")
    return app


MAIL = b"MAIL FROM:<alice@crepes.fr>\r\n"
REFUSED = [
    (b"MAIL FROM:<al\x00ice@crepes.fr>", b"501 5.1.7 Bad sender address syntax: control"),
    (b"MAIL FROM:<alice@crepes.fr\x7f>", b"501 5.1.7 Bad sender address syntax: control"),
    (b"MAIL FROM:<a\tb@crepes.fr>", b"501 5.1.7 Bad sender address syntax: control"),
    (b"MAIL FROM:<a@b> SIZE=1\x01", b"501 5.5.4 Syntax error: control character"),
    (b"MAIL FROM:<\xc3\xa9lise@crepes.fr>", b"553 5.6.7 Non-ASCII sender address"),
    (b"MAIL FROM:<a@b> SMTPUTF8", b"555 5.5.4 Unsupported parameter SMTPUTF8"),
    (b"MAIL FROM:<a@b> BODY=BINARYMIME", b"501 5.5.4 Syntax error: BODY=BINARYMIME"),
    (b"MAIL FROM:<a@b> BODY", b"501 5.5.4 Syntax error: BODY= is not"),
    (b"MAIL FROM:<a@b> RET=HDRS", b"555 5.5.4 Unsupported parameter RET"),
    (b"MAIL FROM:<a@b> SIZE=1 SIZE=2", b"501 5.5.4 Syntax error: parameter SIZE given twice"),
    (b"MAIL FROM:<a@b> SIZE=\xc2\xb2", b"501 5.5.4 Syntax error: malformed parameter"),
    (b"MAIL FROM:<a@b> =x", b"501 5.5.4 Syntax error: malformed parameter"),
    (b"MAIL FROM:<a@b@c>", b"501 5.1.7 Bad sender address syntax: malformed address"),
    (b"MAIL FROM:a@b", b"501 5.5.4 Syntax error: address must be enclosed"),
    (MAIL + b"RCPT TO:<bob\x00@hamburger.edu>", b"501 5.1.3 Bad recipient address syntax"),
    (MAIL + b"RCPT TO:<b\xc3\xb6b@hamburger.edu>", b"553 5.6.7 Non-ASCII recipient address"),
    (MAIL + b"RCPT TO:<bob@hamburger.edu> NOTIFY=NEVER", b"555 5.5.4 Unsupported parameter"),
    (MAIL + b"RCPT TO:<>", b"501 5.5.4 Syntax error: RCPT TO needs a non-empty address"),
]


@pytest.mark.parametrize(("lines", "reply"), REFUSED)
def test_mail_and_rcpt_refused(lines: bytes, reply: bytes) -> None:
    app = ready_app()
    *setup, line = lines.split(b"\r\n")
    for command in setup:
        assert app.feed(command + b"\r\n") == b"250 OK\r\n"
    state = app.state()
    out = app.feed(line + b"\r\n")
    assert out.startswith(reply), out
    assert app.state() is state
    assert sum(isinstance(e, smtp.MailFrom | smtp.RcptTo) for e in app.events) == len(setup)


@pytest.mark.parametrize("body", [b"7BIT", b"8BITMIME", b"8bitmime"])
def test_mail_from_accepted_parameters(body: bytes) -> None:
    app = ready_app()
    assert app.feed(b"MAIL FROM:<a@b> BODY=" + body + b" SIZE=10 AUTH=<>\r\n") == b"250 OK\r\n"
    mail = [e for e in app.events if isinstance(e, smtp.MailFrom)]
    assert mail[0].parameters == {"BODY": body.decode(), "SIZE": "10", "AUTH": "<>"}


def test_utf8_addresses_need_the_offer_and_the_parameter() -> None:
    app = ready_app(smtputf8=True)
    out = app.feed("MAIL FROM:<élise@crêpes.fr>\r\n".encode())
    assert out.startswith(b"553 5.6.7 Non-ASCII sender address: add SMTPUTF8 to MAIL FROM")
    assert app.feed(b"MAIL FROM:<alice@crepes.fr>\r\n") == b"250 OK\r\n"
    assert app.feed("RCPT TO:<björn@hamburger.edu>\r\n".encode()).startswith(b"553 5.6.7")
    app.feed(b"RSET\r\n")
    out = app.feed("MAIL FROM:<élise@crêpes.fr> SMTPUTF8\r\n".encode())
    assert out == b"250 OK\r\n"
    assert app.feed("RCPT TO:<björn@hamburger.edu>\r\n".encode()) == b"250 OK\r\n"
    addresses = [e.address for e in app.events if isinstance(e, smtp.MailFrom | smtp.RcptTo)]
    assert addresses == ["alice@crepes.fr", "élise@crêpes.fr", "björn@hamburger.edu"]
