# The SMTP server state machine joined in memory with a scripted client.
from __future__ import annotations

import base64

import pytest

from labctl.protocols import smtp
from tests.protocols.apps import EchoApp


def codes(output: bytes) -> list[int]:
    return [smtp.parse_reply_line(line)[0] for line in output.splitlines() if line[3:4] == b" "]


def test_full_dialog_exact_replies() -> None:
    app = EchoApp()
    assert app.output == b"220 test ESMTP\r\n"
    assert app.feed(b"EHLO client\r\n") == b"250-test\r\n250-8BITMIME\r\n250 AUTH PLAIN\r\n"
    assert app.feed(b"MAIL FROM:<alice@crepes.fr>\r\n") == b"250 OK\r\n"
    assert app.feed(b"RCPT TO:<bob@hamburger.edu>\r\n") == b"250 OK\r\n"
    assert app.feed(b"DATA\r\n") == b"354 go ahead\r\n"
    assert app.state() is smtp.SmtpState.DATA
    assert app.feed(b"Subject: hi\r\n\r\nhello\r\n.\r\n") == b"250 2.0.0 queued\r\n"
    assert app.messages == [b"Subject: hi\r\n\r\nhello\r\n"]
    assert app.feed(b"QUIT\r\n") == b"221 bye\r\n"
    assert app.state() is smtp.SmtpState.CLOSED


def test_pipelined_commands_and_data_in_one_chunk() -> None:
    app = EchoApp()
    out = app.feed(
        b"EHLO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nRCPT TO:<e@f>\r\nDATA\r\n"
        b"body\r\n.\r\nQUIT\r\n"
    )
    assert codes(out) == [250, 250, 250, 250, 354, 250, 221]
    assert app.messages == [b"body\r\n"]
    rcpts = [e.address for e in app.events if isinstance(e, smtp.RcptTo)]
    assert rcpts == ["c@d", "e@f"]


def test_dot_stuffing_removed_and_terminator_split_across_chunks() -> None:
    app = EchoApp()
    app.feed(b"HELO c\r\nMAIL FROM:<>\r\nRCPT TO:<c@d>\r\nDATA\r\n")
    assert app.feed(b"..leading dot\r\n..\r\n.. \r\nlast\r") == b""
    assert app.feed(b"\n.") == b""
    assert app.feed(b"\r") == b""
    assert app.feed(b"\n") == b"250 2.0.0 queued\r\n"
    assert app.messages == [b".leading dot\r\n.\r\n. \r\nlast\r\n"]


def test_bare_lf_dot_does_not_end_data() -> None:
    app = EchoApp()
    app.feed(b"HELO c\r\nMAIL FROM:<>\r\nRCPT TO:<c@d>\r\nDATA\r\n")
    assert app.feed(b"a\n.\nMAIL FROM:<x@y>\r\n") == b""  # no SMTP smuggling
    assert app.feed(b".\r\n") == b"250 2.0.0 queued\r\n"
    assert app.messages == [b"a\n.\nMAIL FROM:<x@y>\r\n"]


def test_command_split_across_receive_calls() -> None:
    app = EchoApp()
    assert app.feed(b"EH") == b""
    assert app.feed(b"LO c\r") == b""
    assert codes(app.feed(b"\n")) == [250]


def test_bad_sequence_gets_503_and_state_is_kept() -> None:
    app = EchoApp()
    assert app.feed(b"MAIL FROM:<a@b>\r\n") == smtp.replies.SEND_HELLO_FIRST.to_bytes()
    app.feed(b"EHLO c\r\n")
    assert app.feed(b"RCPT TO:<c@d>\r\n").startswith(b"503")
    assert app.feed(b"DATA\r\n").startswith(b"503")
    app.feed(b"MAIL FROM:<a@b>\r\n")
    assert app.feed(b"DATA\r\n") == smtp.replies.NEED_RCPT.to_bytes()
    assert app.feed(b"MAIL FROM:<a@b>\r\n") == smtp.replies.NESTED_MAIL.to_bytes()
    assert app.state() is smtp.SmtpState.MAIL
    assert app.feed(b"RSET\r\n") == b"250 OK\r\n"
    assert app.state() is smtp.SmtpState.READY


def test_garbage_gets_error_replies_not_exceptions() -> None:
    app = EchoApp()
    assert app.feed(b"\x00\xff\xfe\r\n").startswith(b"500")
    assert app.feed(b"FOO bar\r\n") == smtp.replies.COMMAND_UNRECOGNIZED.to_bytes()
    assert app.feed(b"STARTTLS\r\n").startswith(b"502")
    assert app.feed(b"EHLO\r\n").startswith(b"501")
    app.feed(b"EHLO c\r\n")
    assert app.feed(b"MAIL FROM:alice\r\n").startswith(b"501")
    assert app.feed(b"NOOP " + b"x" * 600 + b"\r\n") == smtp.replies.LINE_TOO_LONG.to_bytes()
    errors = [e for e in app.events if isinstance(e, smtp.ProtocolErrorEvent)]
    assert errors[0].line == b"\x00\xff\xfe\r\n"


def test_endless_line_is_cut_and_reported_once() -> None:
    app = EchoApp()
    assert codes(app.feed(b"x" * 20_000)) == [500]
    assert app.feed(b"y" * 20_000) == b""
    assert codes(app.feed(b"tail\r\nNOOP\r\n")) == [250]


def test_message_size_limit() -> None:
    app = EchoApp(max_message_size=100)
    app.feed(b"EHLO c\r\n")
    assert app.feed(b"MAIL FROM:<a@b> SIZE=1000\r\n").startswith(b"552")
    app.feed(b"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n")
    assert app.feed(b"x" * 80 + b"\r\n" + b"y" * 80 + b"\r\n.\r\n").startswith(b"552")
    assert app.messages == []
    assert app.state() is smtp.SmtpState.READY


def test_data_line_over_1000_octets_rejected_after_data() -> None:
    app = EchoApp()
    app.feed(b"EHLO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n")
    assert app.feed(b"z" * 1200 + b"\r\nok\r\n.\r\n") == smtp.replies.DATA_LINE_TOO_LONG.to_bytes()
    assert app.feed(b"NOOP\r\n") == b"250 OK\r\n"


def test_data_line_too_long_arriving_in_pieces_is_dropped_and_data_still_ends() -> None:
    app = EchoApp()
    app.feed(b"EHLO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n")
    assert app.feed(b"ok\r\n" + b"z" * 700) == b""
    assert app.feed(b"z" * 700) == b""  # the line passes 1000 octets with no end in sight
    assert app.feed(b"\r") == b""
    assert app.feed(b"\n.\r\n") == smtp.replies.DATA_LINE_TOO_LONG.to_bytes()
    assert app.messages == [] and app.state() is smtp.SmtpState.READY


def test_tail_of_a_dropped_line_looking_like_the_end_does_not_end_data() -> None:
    app = EchoApp()
    app.feed(b"EHLO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n")
    assert app.feed(b"z" * 1500) == b""
    assert app.feed(b".\r\n") == b""  # still the over-long line, not a lone "."
    assert app.feed(b".\r\n") == smtp.replies.DATA_LINE_TOO_LONG.to_bytes()


def test_line_of_1000_octets_with_a_stuffed_dot_is_accepted() -> None:
    app = EchoApp()
    app.feed(b"EHLO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n")
    line = b"." + b"x" * 997 + b"\r\n"  # 1000 octets; 1001 on the wire with its added dot
    assert app.feed(b"." + line + b".\r\n") == b"250 2.0.0 queued\r\n"
    assert app.messages == [line]


def test_auth_plain_initial_response_and_challenge() -> None:
    good = base64.b64encode(b"\0alice\0pw")
    app = EchoApp()
    app.feed(b"EHLO c\r\n")
    assert app.feed(b"AUTH PLAIN " + good + b"\r\n") == b"235 auth result\r\n"
    app = EchoApp()
    app.feed(b"EHLO c\r\n")
    assert app.feed(b"AUTH PLAIN\r\n") == b"334 \r\n"
    assert app.state() is smtp.SmtpState.AUTH
    assert app.feed(base64.b64encode(b"\0alice\0bad") + b"\r\n") == b"535 auth result\r\n"
    assert app.state() is smtp.SmtpState.READY


def test_auth_not_allowed_in_transaction() -> None:
    app = EchoApp()
    app.feed(b"EHLO c\r\nMAIL FROM:<a@b>\r\n")
    assert app.feed(b"AUTH PLAIN x\r\n").startswith(b"503")


def test_eof_gives_connection_closed() -> None:
    conn = smtp.ServerConnection()
    conn.receive_data(b"EHLO c\r\n")
    assert isinstance(conn.next_event(), smtp.Hello)
    conn.send(smtp.Reply.of(250, "ok"))
    conn.receive_data(b"")
    assert isinstance(conn.next_event(), smtp.ConnectionClosed)


@pytest.mark.parametrize("size", ["²", "٣", "1²", "1e3", "-1", "9" * 21])
def test_size_must_be_ascii_digits(size: str) -> None:
    app = EchoApp()
    app.feed(b"EHLO c\r\n")
    out = app.feed(f"MAIL FROM:<a@b> SIZE={size}\r\n".encode())
    assert out.startswith(b"501 5.5.4 Syntax error: ") and b"SIZE" in out
    assert app.state() is smtp.SmtpState.READY
    assert app.feed(b"MAIL FROM:<a@b> SIZE=10\r\n") == b"250 OK\r\n"
