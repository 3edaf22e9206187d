# One event API for SMTP and POP3, and every state change coming from the tables.
from __future__ import annotations

import pytest

from labctl.protocols import pop3, smtp
from labctl.protocols.smtp_states import TRANSITIONS, SmtpState
from tests.protocols.apps import EchoApp


def test_smtp_and_pop3_share_the_event_classes() -> None:
    assert smtp.Command is pop3.Command
    assert smtp.CommandReceived is pop3.CommandReceived
    assert smtp.ProtocolErrorEvent is pop3.ProtocolErrorEvent
    assert smtp.ConnectionClosed is pop3.ConnectionClosed and smtp.NEED_DATA is pop3.NEED_DATA
    assert pop3.Command("TOP", "1 5").arguments == ["1", "5"]


def test_pop3_errors_carry_their_reply_reason_and_line() -> None:
    conn = pop3.ServerConnection()
    conn.receive_data(b"XYZZ 1\r\n")
    event = conn.next_event()
    assert event == pop3.ProtocolErrorEvent(
        pop3.replies.UNKNOWN_COMMAND(verb="XYZZ"), "unknown command XYZZ", b"XYZZ 1\r\n")


@pytest.mark.parametrize("setup", [b"", b"EHLO c\r\n", b"EHLO c\r\nMAIL FROM:<a@b>\r\n",
                                   b"EHLO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n",
                                   b"EHLO c\r\nAUTH PLAIN\r\n"])
def test_421_closes_from_every_state(setup: bytes) -> None:
    app = EchoApp()
    if setup:
        app.feed(setup)
    app.conn.send(smtp.replies.IDLE_TIMEOUT())
    assert app.state() is SmtpState.CLOSED
    assert isinstance(app.conn.next_event(), smtp.ConnectionClosed)


def test_only_354_starts_mail_input() -> None:
    conn = smtp.ServerConnection()
    conn.receive_data(b"HELO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nNOOP\r\n")
    for _ in range(3):
        conn.next_event()
        conn.send(smtp.replies.OK())
    conn.next_event()
    conn.send(smtp.replies.OK())  # a wrong answer to DATA: the machine stays in RCPT
    assert conn.state is SmtpState.RCPT
    assert conn.next_event() == smtp.CommandReceived(smtp.Command("NOOP"))


def test_every_transition_leads_from_a_live_state() -> None:
    assert all(state is not SmtpState.CLOSED for state, _, _ in TRANSITIONS)
    assert {kind for _, _, kind in TRANSITIONS} <= {"2xx", "3xx", "4xx", "5xx", "220", "334",
                                                     "354", "421"}


@pytest.mark.parametrize("verb", [b"PASS wrong", b"USER carol", b"APOP bob " + b"0" * 32])
def test_pop3_failed_login_starts_over(verb: bytes) -> None:
    conn = pop3.ServerConnection()
    conn.receive_data(b"USER bob\r\n" + verb + b"\r\nPASS pw\r\n")
    conn.next_event()
    conn.send(pop3.replies.SEND_PASS())
    assert conn.state is pop3.Pop3State.USER_GIVEN
    assert isinstance(conn.next_event(), pop3.CommandReceived)
    conn.send(pop3.replies.LOGIN_FAILED())
    assert conn.state is pop3.Pop3State.AUTHORIZATION
    assert conn.next_event() == pop3.ProtocolErrorEvent(
        pop3.replies.SEND_USER_FIRST(), "send USER first", b"PASS pw\r\n")
