# identify: the protocol comes from the bytes, never from the port.
from __future__ import annotations

from pathlib import Path

import pytest

from labctl.analysis import analyze_pcap
from labctl.analysis.identify import identify_protocol
from labctl.model import HTTP, IMAP, POP3, SMTP, UNKNOWN, Addressing


@pytest.mark.parametrize(
    ("client", "server", "expected"),
    [
        (b"", b"220 mail.hamburger.edu ESMTP\r\n", SMTP),
        (b"", b"220-mail.hamburger.edu ESMTP\r\n220 more\r\n", SMTP),
        (b"EHLO crepes.fr\r\n", b"", SMTP),
        (b"\r\nMAIL FROM:<a@crepes.fr>\r\n", b"", SMTP),
        (b"", b"+OK POP3 server ready\r\n", POP3),
        (b"USER bob\r\nPASS x\r\n", b"", POP3),
        (b"", b"* OK [CAPABILITY IMAP4rev1] ready\r\n", IMAP),
        (b"a001 LOGIN bob pw\r\n", b"", IMAP),
        (b"GET /inbox HTTP/1.1\r\nHost: x\r\n\r\n", b"", HTTP),
        (b"", b"HTTP/1.0 200 OK\r\n\r\n", HTTP),
        (b"POST /send HTTP/1.1\r\n\r\n", b"HTTP/1.1 303 See Other\r\n", HTTP),
        (b"hello\r\n", b"SSH-2.0-OpenSSH_9.2\r\n", UNKNOWN),
        (b"", b"", UNKNOWN),
        (b"GET / HTTP/1.1", b"2200 nope\r\n", HTTP),
        (b"USER bob\r\n", b"+OK ready\r\n", POP3),
    ],
)
def test_identify_from_bytes(client: bytes, server: bytes, expected: str) -> None:
    assert identify_protocol(client, server) == expected


def test_pop3_on_port_25_is_pop3(pcaps: Path, local: Addressing) -> None:
    [conversation] = analyze_pcap(pcaps / "pop3_port25.pcapng", "bob-lan", local)
    assert conversation.server.port == 25
    assert conversation.protocol == POP3
    assert (conversation.client_role, conversation.server_role) == ("receiver-ua", "receiver-mta")
