# SMTP smuggling (CVE-2023-51766, CVE-2024-27305): inside DATA only <CRLF>.<CRLF> ends a
# message. Each sequence below hides a second transaction behind a lookalike end; it
# must stay message text, and the bytes kept are exactly the ones listed.
from __future__ import annotations

import pytest

from labctl.protocols import smtp
from tests.protocols.apps import EchoApp

SMUGGLED = b"MAIL FROM:<mallory@evil.example>\r\nRCPT TO:<bob@hamburger.edu>\r\nDATA\r\n" \
           b"Subject: smuggled\r\n\r\nspoofed\r\n"
# (lookalike end of data, the message text the server keeps for b"a" + end + SMUGGLED)
LOOKALIKES = {
    "LF.LF": (b"\n.\n", b"a\n.\n" + SMUGGLED),
    "CR.CR": (b"\r.\r", b"a\r.\r" + SMUGGLED),
    "LF.CRLF": (b"\n.\r\n", b"a\n.\r\n" + SMUGGLED),
    # a line starting with "." loses that dot (RFC 5321 4.5.2): ".\nMAIL..." is such a line
    "CRLF.LF": (b"\r\n.\n", b"a\r\n\n" + SMUGGLED),
    "CR.CRLF": (b"\r.\r\n", b"a\r.\r\n" + SMUGGLED),
}
MESSAGE_HEAD = b"From: <alice@crepes.fr>\r\nSubject: real\r\n\r\n"


def smuggling_data(end: bytes) -> bytes:
    """The DATA text a smuggler sends: a real head, the lookalike end, a second dialog."""
    return MESSAGE_HEAD + b"a" + end + SMUGGLED + b".\r\n"


@pytest.mark.parametrize("name", sorted(LOOKALIKES))
def test_lookalike_end_of_data_stays_message_text(name: str) -> None:
    end, kept = LOOKALIKES[name]
    app = EchoApp()
    app.feed(b"EHLO c\r\nMAIL FROM:<alice@crepes.fr>\r\nRCPT TO:<bob@hamburger.edu>\r\nDATA\r\n")
    assert app.feed(smuggling_data(end)) == b"250 2.0.0 queued\r\n"
    assert app.messages == [MESSAGE_HEAD + kept]
    senders = [e.address for e in app.events if isinstance(e, smtp.MailFrom)]
    assert senders == ["alice@crepes.fr"]
    assert app.state() is smtp.SmtpState.READY


@pytest.mark.parametrize("name", sorted(LOOKALIKES))
def test_lookalike_end_split_across_chunks(name: str) -> None:
    end, kept = LOOKALIKES[name]
    app = EchoApp()
    app.feed(b"EHLO c\r\nMAIL FROM:<alice@crepes.fr>\r\nRCPT TO:<bob@hamburger.edu>\r\nDATA\r\n")
    out = b"".join(app.feed(bytes([octet])) for octet in smuggling_data(end))
    assert out == b"250 2.0.0 queued\r\n"
    assert app.messages == [MESSAGE_HEAD + kept]
