# Which application protocol a conversation speaks, judged from its first bytes only.
#
# The port never decides: POP3 moved to port 25 is POP3 (and graded wrong there). Over
# TCP a TLS ClientHello (record type 0x16, version 0x03xx, handshake type 1) from the
# client, or a ServerHello when the client's side is missing, means TLS (implicit TLS,
# on 465/993/995 or any port). Otherwise the server's first line decides when it is a
# greeting we know (SMTP "220", POP3 "+OK", IMAP "* OK"/"* PREAUTH", an HTTP status
# line), then the client's first lines (SMTP HELO/EHLO/MAIL FROM/RCPT TO, a verb only
# the POP3 grammar knows, an IMAP tagged command, an HTTP request line). Over UDP a
# datagram whose DNS header and question parse is DNS. Nothing recognisable → UNKNOWN.
from __future__ import annotations

import re
from collections.abc import Sequence

from labctl.analysis.results import Segment
from labctl.model.topology import DNS, HTTP, IMAP, POP3, SMTP, TLS, UNKNOWN
from labctl.protocols import pop3_server, smtp_states

LINES_EXAMINED = 5
OPENING_BYTES = 1024  # how much of each side identification looks at

_SERVER_GREETINGS: tuple[tuple[re.Pattern[bytes], str], ...] = (
    (re.compile(rb"^220[ -]"), SMTP),
    (re.compile(rb"^(?:\+OK|-ERR)(?:\s|$)"), POP3),
    (re.compile(rb"^\* (?:OK|PREAUTH|BYE)(?:\s|$)", re.IGNORECASE), IMAP),
    (re.compile(rb"^HTTP/1\.[01] \d{3}(?:\s|$)"), HTTP),
)

_HTTP_METHODS = rb"GET|HEAD|POST|PUT|DELETE|OPTIONS|PATCH|CONNECT|TRACE"
_IMAP_COMMANDS = (
    rb"CAPABILITY|NOOP|LOGOUT|STARTTLS|AUTHENTICATE|LOGIN|SELECT|EXAMINE|CREATE|DELETE|"
    rb"RENAME|SUBSCRIBE|UNSUBSCRIBE|LIST|LSUB|STATUS|APPEND|CHECK|CLOSE|EXPUNGE|SEARCH|"
    rb"FETCH|STORE|COPY|MOVE|UID|IDLE|NAMESPACE|ID|ENABLE"
)
# The verbs of the POP3 grammar that SMTP does not share (NOOP, RSET, QUIT are both).
POP3_ONLY_VERBS = sorted(set(pop3_server.ALLOWED) - set(smtp_states.ALLOWED))
_CLIENT_COMMANDS: tuple[tuple[re.Pattern[bytes], str], ...] = (
    (re.compile(rb"^(?:" + _HTTP_METHODS + rb") \S+ HTTP/1\.[01]$"), HTTP),
    (re.compile(rb"^(?:HELO|EHLO)(?:\s|$)|^MAIL FROM:|^RCPT TO:", re.IGNORECASE), SMTP),
    (re.compile(rb"^(?:" + "|".join(POP3_ONLY_VERBS).encode() + rb")(?:\s|$)",
                re.IGNORECASE), POP3),
    (re.compile(rb"^[A-Za-z0-9.]+ (?:" + _IMAP_COMMANDS + rb")(?:\s|$)", re.IGNORECASE), IMAP),
)
CLIENT_HELLO, SERVER_HELLO = 1, 2  # TLS handshake message types


def first_lines(data: bytes, count: int = LINES_EXAMINED) -> list[bytes]:
    """The first `count` non-empty lines of `data`, line endings removed."""
    lines = [line.rstrip(b"\r") for line in data.split(b"\n", count)[:count]]
    return [line for line in lines if line.strip()]


def protocol_of_server_line(line: bytes) -> str | None:
    """The protocol whose server greeting or status line `line` is, if any."""
    for pattern, protocol in _SERVER_GREETINGS:
        if pattern.match(line):
            return protocol
    return None


def protocol_of_client_line(line: bytes) -> str | None:
    """The protocol whose client command `line` is, if any."""
    for pattern, protocol in _CLIENT_COMMANDS:
        if pattern.match(line):
            return protocol
    return None


def is_tls_hello(data: bytes, handshake_type: int) -> bool:
    """True when `data` opens with a TLS handshake record carrying `handshake_type`."""
    return (len(data) >= 6 and data[0] == 0x16 and data[1] == 0x03 and data[2] <= 0x04
            and data[5] == handshake_type)


def is_dns_message(data: bytes) -> bool:
    """True when `data` is a DNS message: a sane header and one question that parses."""
    if len(data) < 12 or data[3] & 0x40 or (data[2] >> 3) & 0x0F > 6:  # Z bit, opcode
        return False
    if int.from_bytes(data[4:6], "big") != 1:  # QDCOUNT
        return False
    position, name_length = 12, 0
    while position < len(data) and data[position] != 0:
        label = data[position]
        if label > 63:
            return False
        name_length += label + 1
        position += label + 1
    return position + 5 <= len(data) and name_length <= 255


def opening_bytes(segments: Sequence[Segment], from_client: bool,
                  limit: int = OPENING_BYTES) -> bytes:
    """The first `limit` bytes one side sent (over UDP: its first datagram)."""
    parts: list[bytes] = []
    size = 0
    for segment in segments:
        if segment.from_client is from_client and size < limit:
            parts.append(segment.data)
            size += len(segment.data)
    return b"".join(parts)[:limit]


def identify_protocol(client_bytes: bytes, server_bytes: bytes, transport: str = "tcp") -> str:
    """SMTP, POP3, IMAP, HTTP, TLS, DNS or UNKNOWN from the first bytes each side sent."""
    if transport == "udp":
        return DNS if is_dns_message(client_bytes or server_bytes) else UNKNOWN
    if is_tls_hello(client_bytes, CLIENT_HELLO) or (
            not client_bytes and is_tls_hello(server_bytes, SERVER_HELLO)):
        return TLS
    server_lines = first_lines(server_bytes, 1)
    if server_lines:
        protocol = protocol_of_server_line(server_lines[0])
        if protocol is not None:
            return protocol
    for line in first_lines(client_bytes):
        protocol = protocol_of_client_line(line)
        if protocol is not None:
            return protocol
    return UNKNOWN


def identify_conversation(segments: Sequence[Segment], transport: str = "tcp") -> str:
    """The protocol of a conversation's segments (see identify_protocol)."""
    if transport == "udp":
        client, server = (next((s.data for s in segments if s.from_client is side), b"")
                          for side in (True, False))
    else:
        client, server = opening_bytes(segments, True), opening_bytes(segments, False)
    return identify_protocol(client, server, transport)
