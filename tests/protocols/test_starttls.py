# STARTTLS (RFC 3207) and STLS (RFC 2595) in the state machines: the positive reply
# restarts the dialog, and bytes pipelined after the command are thrown away unread.
from __future__ import annotations

import pytest

from labctl.protocols import pop3, smtp
from tests.protocols.apps import EchoApp, TinyPop3App

INJECTED = b"MAIL FROM:<mallory@evil.example>\r\nRCPT TO:<bob@hamburger.edu>\r\n"


class TlsApp(EchoApp):
    """EchoApp on a machine that offers STARTTLS and answers it with 220."""

    def __init__(self) -> None:
        super().__init__()
        self.conn = smtp.ServerConnection(max_message_size=10_000, starttls=True)

    def answer(self, event: smtp.Event) -> smtp.Reply:
        if isinstance(event, smtp.CommandReceived) and event.command.verb == "STARTTLS":
            return smtp.replies.READY_TO_START_TLS()
        return super().answer(event)


def test_starttls_not_offered_is_502() -> None:
    app = EchoApp()
    app.feed(b"EHLO c\r\n")
    assert app.feed(b"STARTTLS\r\n") == smtp.replies.NOT_IMPLEMENTED.to_bytes(verb="STARTTLS")


def test_starttls_220_restarts_the_dialog() -> None:
    app = TlsApp()
    app.feed(b"EHLO c\r\n")
    assert app.feed(b"STARTTLS\r\n") == smtp.replies.READY_TO_START_TLS.to_bytes()
    assert app.state() is smtp.SmtpState.GREETING
    assert app.feed(b"MAIL FROM:<a@b>\r\n") == smtp.replies.SEND_HELLO_FIRST.to_bytes()
    assert app.feed(b"EHLO c\r\nMAIL FROM:<a@b>\r\n").endswith(b"250 OK\r\n")
    app.feed(b"RSET\r\n")
    # TLS runs now: a second STARTTLS is no longer offered (RFC 3207)
    assert app.feed(b"STARTTLS\r\n") == smtp.replies.NOT_IMPLEMENTED.to_bytes(verb="STARTTLS")


@pytest.mark.parametrize("chunks", [[b"STARTTLS\r\n" + INJECTED],
                                    [b"STARTTLS\r\nMAIL FROM:<mall", b"ory@evil.example>\r\n"]])
def test_commands_pipelined_after_starttls_are_discarded(chunks: list[bytes]) -> None:
    app = TlsApp()
    app.feed(b"EHLO c\r\n")
    for chunk in chunks[:-1]:
        app.conn.receive_data(chunk)
    out = app.feed(chunks[-1])
    assert out == smtp.replies.READY_TO_START_TLS.to_bytes()
    assert app.conn.discarded_before_tls == b"".join(chunks)[len(b"STARTTLS\r\n"):]
    assert not any(isinstance(e, smtp.MailFrom | smtp.RcptTo) for e in app.events)
    assert app.feed(b"EHLO c\r\nMAIL FROM:<alice@crepes.fr>\r\n").endswith(b"250 OK\r\n")
    assert [e.address for e in app.events if isinstance(e, smtp.MailFrom)] == ["alice@crepes.fr"]


def test_starttls_refused_in_transaction_or_with_an_argument() -> None:
    app = TlsApp()
    app.feed(b"EHLO c\r\n")
    assert app.feed(b"STARTTLS now\r\n").startswith(b"501 5.5.4")
    app.feed(b"MAIL FROM:<a@b>\r\n")
    assert app.feed(b"STARTTLS\r\n") == smtp.replies.STARTTLS_IN_TRANSACTION.to_bytes()
    assert app.state() is smtp.SmtpState.MAIL


def test_starttls_answered_454_keeps_the_dialog() -> None:
    conn = smtp.ServerConnection(starttls=True)
    conn.receive_data(b"EHLO c\r\nSTARTTLS\r\nNOOP\r\n")
    conn.next_event()
    conn.send(smtp.replies.HELLO(hostname="x"))
    conn.next_event()
    conn.send(smtp.replies.TLS_NOT_AVAILABLE())
    assert conn.state is smtp.SmtpState.READY and conn.discarded_before_tls == b""
    assert conn.next_event() == smtp.CommandReceived(smtp.Command("NOOP"))


def test_pop3_stls_discards_pipelined_commands() -> None:
    app = TinyPop3App()
    app.conn = pop3.ServerConnection(stls=True)
    assert app.feed(b"STLS\r\nUSER bob\r\nPASS pw\r\n") == b"+OK\r\n"
    assert app.conn.discarded_before_tls == b"USER bob\r\nPASS pw\r\n"
    assert app.state() is pop3.Pop3State.AUTHORIZATION
    # TLS runs now: a second STLS is no longer offered (RFC 2595)
    assert app.feed(b"STLS\r\n") == pop3.replies.UNKNOWN_COMMAND.to_bytes(verb="STLS")


def test_pop3_stls_refused_with_an_argument_or_after_user() -> None:
    app = TinyPop3App()
    app.conn = pop3.ServerConnection(stls=True)
    assert app.feed(b"STLS x\r\n") == pop3.replies.NO_ARGUMENTS.to_bytes(verb="STLS")
    app.feed(b"USER bob\r\n")
    assert app.feed(b"STLS\r\n") == pop3.replies.NOT_BEFORE_LOGIN.to_bytes(verb="STLS")


def test_pop3_stls_not_offered_is_unknown() -> None:
    assert TinyPop3App().feed(b"STLS\r\n") == pop3.replies.UNKNOWN_COMMAND.to_bytes(verb="STLS")


@pytest.mark.parametrize(("argument", "ok"), [
    (b"bob c4c9334bac560ecc979e58001b3e22fb", True),
    (b"bob C4C9334BAC560ECC979E58001B3E22FB", True),
    (b"bob c4c9334bac560ecc979e58001b3e22f", False),
    (b"bob c4c9334bac560ecc979e58001b3e22fbb", False),
    (b"bob g4c9334bac560ecc979e58001b3e22fb", False),
    (b"c4c9334bac560ecc979e58001b3e22fb", False),
    (b"bob  c4c9334bac560ecc979e58001b3e22fb", False),
])
def test_apop_arguments(argument: bytes, ok: bool) -> None:
    conn = pop3.ServerConnection()
    conn.receive_data(b"APOP " + argument + b"\r\n")
    event = conn.next_event()
    expected = pop3.CommandReceived if ok else pop3.ProtocolErrorEvent
    assert isinstance(event, expected)
    if not ok:
        reply = pop3.replies.APOP_SYNTAX()
        assert event == pop3.ProtocolErrorEvent(reply, reply.text, b"APOP " + argument + b"\r\n")
