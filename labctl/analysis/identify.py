# Which application protocol a TCP conversation speaks, judged from its bytes only.
#
# The port never decides: POP3 moved to port 25 is POP3 (and graded wrong there). The
# server's first line decides when it is a greeting we know (SMTP "220", POP3 "+OK",
# IMAP "* OK"/"* PREAUTH", an HTTP status line); otherwise the client's first lines do
# (SMTP HELO/EHLO/MAIL FROM, POP3 USER/PASS/STAT/RETR…, IMAP tagged commands, an HTTP
# request line). Nothing recognisable → UNKNOWN.
from __future__ import annotations

import re

from labctl.model.topology import HTTP, IMAP, POP3, SMTP, UNKNOWN

LINES_EXAMINED = 5

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
_CLIENT_COMMANDS: tuple[tuple[re.Pattern[bytes], str], ...] = (
    (re.compile(rb"^(?:" + _HTTP_METHODS + rb") \S+ HTTP/1\.[01]$"), HTTP),
    (re.compile(rb"^(?:HELO|EHLO)(?:\s|$)|^MAIL FROM:|^RCPT TO:", re.IGNORECASE), SMTP),
    (re.compile(rb"^(?:USER|PASS|APOP|STAT|RETR|DELE|UIDL|TOP|CAPA|STLS)(?:\s|$)",
                re.IGNORECASE), POP3),
    (re.compile(rb"^[A-Za-z0-9.]+ (?:" + _IMAP_COMMANDS + rb")(?:\s|$)", re.IGNORECASE), IMAP),
)


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


def identify_protocol(client_bytes: bytes, server_bytes: bytes) -> str:
    """SMTP, POP3, IMAP, HTTP or UNKNOWN, from the first bytes each side sent."""
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
