# POP3 line grammar (RFC 1939): commands, status lines and multi-line bodies.
#
# Pure functions over bytes, shared by the POP3 server state machine (pop3_server.py)
# and by the traffic analyzer. Malformed lines raise ProtocolError.
from __future__ import annotations

import re
from dataclasses import dataclass

from labctl.protocols.errors import ProtocolError
from labctl.protocols.shared_events import Command
from labctl.protocols.smtp_grammar import dot_stuff, strip_line_ending

MAX_COMMAND_LINE = 255  # RFC 2449: 255 octets including CRLF
MAX_STATUS_LINE = 512  # RFC 2449: 512 octets including CRLF

_VERB = re.compile(rb"[A-Za-z]{3,4}")
_RESPONSE_CODE = re.compile(r"[A-Za-z0-9-]+(?:/[A-Za-z0-9-]+)*")  # resp-level *("/" resp-level)
_CODED_TEXT = re.compile(r"\[([^\]]*)\]\s*(.*)", re.DOTALL)


@dataclass(frozen=True)
class Reply:
    """A POP3 response: +OK/-ERR, an RFC 2449 response code, text, an optional body."""

    ok: bool
    text: str = ""
    body: bytes | None = None  # raw lines (CRLF-separated); dot-stuffed when sent
    code: str = ""  # extended response code without brackets: IN-USE, AUTH, SYS/TEMP, ...

    def __post_init__(self) -> None:
        if self.code and not _RESPONSE_CODE.fullmatch(self.code):
            raise ValueError(f"not an RFC 2449 response code: {self.code!r}")

    def to_bytes(self) -> bytes:
        """The response as a server sends it, with the body dot-stuffed and terminated."""
        words = ["+OK" if self.ok else "-ERR", f"[{self.code}]" if self.code else "", self.text]
        head = " ".join(w for w in words if w).encode("utf-8") + b"\r\n"
        if self.body is None:
            return head
        return head + dot_stuff(self.body) + b".\r\n"


def parse_command(line: bytes) -> Command:
    """Parse one POP3 command line (with or without CRLF); ProtocolError when malformed."""
    body = strip_line_ending(line)
    if not body.strip():
        raise ProtocolError("empty command line", line)
    if len(body) + 2 > MAX_COMMAND_LINE:
        raise ProtocolError(f"command line longer than {MAX_COMMAND_LINE} octets", line)
    verb_bytes, _, argument = body.partition(b" ")
    if not _VERB.fullmatch(verb_bytes):
        raise ProtocolError("command keyword is not 3-4 ASCII letters", line)
    try:
        text = argument.decode("utf-8").strip()
    except UnicodeDecodeError as exc:
        raise ProtocolError("command argument is not valid UTF-8", line) from exc
    return Command(verb_bytes.decode("ascii").upper(), text)


# Commands whose +OK is followed by a dot-stuffed multi-line body (RFC 1939, RFC 2449);
# LIST and UIDL only when they name no message.
MULTI_LINE = frozenset({"RETR", "TOP", "CAPA"})
MULTI_LINE_WITHOUT_ARGUMENT = frozenset({"LIST", "UIDL"})


def has_body(command: Command, ok: bool) -> bool:
    """Whether the server's reply to `command` carries a multi-line body."""
    if not ok:
        return False
    return command.verb in MULTI_LINE or (
        command.verb in MULTI_LINE_WITHOUT_ARGUMENT and not command.argument)


def parse_status_line(line: bytes) -> tuple[bool, str]:
    """Parse a `+OK text` / `-ERR text` line into (ok, text); ProtocolError otherwise."""
    body = strip_line_ending(line)
    if len(body) + 2 > MAX_STATUS_LINE:
        raise ProtocolError(f"status line longer than {MAX_STATUS_LINE} octets", line)
    for marker, ok in ((b"+OK", True), (b"-ERR", False)):
        if body[: len(marker)].upper() == marker:
            rest = body[len(marker):]
            if rest and not rest.startswith(b" "):
                break
            return ok, rest.strip().decode("utf-8", "replace")
    raise ProtocolError("status line does not start with +OK or -ERR", line)


def split_response_code(text: str) -> tuple[str, str]:
    """Status text `[IN-USE] locked` into ("IN-USE", "locked"); ("", text) without a code."""
    match = _CODED_TEXT.fullmatch(text)
    if match is None or not _RESPONSE_CODE.fullmatch(match.group(1)):
        return "", text
    return match.group(1).upper(), match.group(2)
