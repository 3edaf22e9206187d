# identify: the protocol comes from the bytes, never from the port.
from __future__ import annotations

from pathlib import Path

import pytest

from labctl.analysis import analyze_pcap
from labctl.analysis.identify import OPENING_BYTES, identify_conversation, identify_protocol
from labctl.analysis.results import Segment
from labctl.model import HTTP, IMAP, POP3, SMTP, UNKNOWN, Addressing
from labctl.model.topology import DNS, TLS

CLIENT_HELLO = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"


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
        (b"LIST\r\n", b"", POP3),
        (CLIENT_HELLO, b"", TLS),
        (CLIENT_HELLO, b"220 would be SMTP\r\n", TLS),
        (b"", b"\x16\x03\x03\x00\x30\x02rest", TLS),
        (b"\x16\x03\x01\x00\x05\x02", b"", UNKNOWN),  # a ServerHello from the client
    ],
)
def test_identify_from_bytes(client: bytes, server: bytes, expected: str) -> None:
    assert identify_protocol(client, server) == expected


# A query for mail.hamburger.edu MX (id 0x1234, RD set) and the same cut short.
DNS_QUERY = bytes.fromhex("123401000001000000000000") + b"\x04mail\x09hamburger\x03edu\x00" + \
    bytes.fromhex("000f0001")


@pytest.mark.parametrize(
    ("datagram", "expected"),
    [(DNS_QUERY, DNS), (DNS_QUERY[:-3], UNKNOWN), (b"220 hello\r\n", UNKNOWN),
     (DNS_QUERY[:2] + b"\x01\x40" + DNS_QUERY[4:], UNKNOWN)],  # the Z bit set
)
def test_udp_is_dns_when_its_header_and_question_parse(datagram: bytes, expected: str) -> None:
    assert identify_conversation([Segment(True, datagram, 0.0)], "udp") == expected


def test_only_the_first_bytes_are_read() -> None:
    segments = [Segment(True, b"x" * OPENING_BYTES, 0.0), Segment(True, b"EHLO c\r\n", 1.0)]
    assert identify_conversation(segments) == UNKNOWN
    assert identify_conversation([Segment(False, b"220 mx\r\n", 0.0), *segments]) == SMTP


def test_pop3_on_port_25_is_pop3(pcaps: Path, local: Addressing) -> None:
    [conversation] = analyze_pcap(pcaps / "pop3_port25.pcapng", "bob-lan", local)
    assert conversation.server.port == 25
    assert conversation.protocol == POP3
    assert (conversation.client_role, conversation.server_role) == ("receiver-ua", "receiver-mta")
