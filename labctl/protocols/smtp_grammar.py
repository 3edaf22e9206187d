# SMTP line grammar (RFC 5321): commands, replies and MAIL/RCPT paths, as pure functions.
#
# Used by the server state machine (smtp_server.py) and by the traffic analyzer, so
# everything here works on bytes and raises ProtocolError naming what is wrong.
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from labctl.protocols.errors import ProtocolError
from labctl.protocols.shared_events import Command

MAX_COMMAND_LINE = 512  # octets including CRLF (RFC 5321 4.5.3.1.4)
MAX_AUTH_LINE = 12288  # AUTH lines may be longer (RFC 4954 4)
MAX_TEXT_LINE = 1000  # a DATA line, including CRLF (RFC 5321 4.5.3.1.6)
MAX_REPLY_LINE = 512

_VERB = re.compile(rb"[A-Za-z][A-Za-z0-9]*")
_REPLY = re.compile(rb"([2-5][0-9][0-9])([ -]?)(.*)", re.DOTALL)


@dataclass(frozen=True)
class Reply:
    """One SMTP reply: a code and one or more text lines."""

    code: int
    lines: tuple[str, ...] = ("",)

    @classmethod
    def of(cls, code: int, *lines: str) -> Reply:
        """A reply from a code and text lines (one empty line when none)."""
        return cls(code, lines or ("",))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def is_positive(self) -> bool:
        return 200 <= self.code < 400

    def to_bytes(self) -> bytes:
        """The reply as a server sends it: `250-...` continuation lines, then `250 ...`."""
        last = len(self.lines) - 1
        out = []
        for i, line in enumerate(self.lines):
            text = f"{self.code}{'-' if i < last else ' '}{line}"
            if self.code != 334:  # "334 " keeps its space: an empty SASL challenge (RFC 4954)
                text = text.rstrip(" ")
            out.append(text.encode("utf-8") + b"\r\n")
        return b"".join(out)


def dot_stuff(body: bytes) -> bytes:
    """Body lines with CRLF endings, a leading '.' doubled, ready to precede the '.' line.

    The transparency rule of SMTP DATA (RFC 5321 4.5.2) and of POP3 multi-line replies.
    """
    if not body:
        return b""
    if body.count(b"\n") == body.count(b"\r\n"):  # CRLF only (a stored message): one copy
        text = body if body.endswith(b"\r\n") else body + b"\r\n"
        text = text.replace(b"\r\n.", b"\r\n..")
        return b"." + text if text.startswith(b".") else text
    text = body.replace(b"\r\n", b"\n")  # whole-buffer replaces: no per-line Python work
    if not text.endswith(b"\n"):
        text += b"\n"
    text = text.replace(b"\n.", b"\n..")
    if text.startswith(b"."):
        text = b"." + text
    return text.replace(b"\n", b"\r\n")


def end_of_data(data: bytes | bytearray, start: int = 0, at_line_start: bool = True) -> int:
    """Offset of the lone "." line that ends the dot-stuffed text at data[start:], or -1.

    The text starts at `start` (just after the line that opened it) and ends at the first
    "." line: <CRLF>.<CRLF>, or ".<CRLF>" right at `start` when that is a line start.
    """
    if at_line_start and data.startswith(b".\r\n", start):
        return start
    found = data.find(b"\r\n.\r\n", start)
    return found + 2 if found >= 0 else -1


def dot_unstuff(text: bytes) -> bytes:
    """Dot-stuffed CRLF lines (without the "." line) as sent: each line starting with "."
    loses that dot (RFC 5321 4.5.2), so dot_unstuff(dot_stuff(body)) == body."""
    unstuffed = text.replace(b"\r\n.", b"\r\n")
    return unstuffed[1:] if unstuffed.startswith(b".") else unstuffed


def has_line_longer_than(text: bytes, limit: int) -> bool:
    """Whether `text` cut at each CRLF has a piece longer than `limit` octets.

    From the start of a piece, the last CRLF within `limit` octets ends every piece up to
    it in time; without one, the piece is too long. So the text is crossed in strides of
    nearly `limit` octets, each searched backwards from its end by rfind alone.
    """
    start, size = 0, len(text)
    while size - start > limit:
        end = text.rfind(b"\r\n", start, start + limit + 2)
        if end < 0:
            return True
        start = end + 2
    return False


def strip_line_ending(line: bytes) -> bytes:
    """Remove one trailing CRLF (or bare LF) from `line`."""
    if line.endswith(b"\r\n"):
        return line[:-2]
    if line.endswith(b"\n"):
        return line[:-1]
    return line


@lru_cache(maxsize=256)  # the analyzer parses each line twice (its replay, its labels)
def parse_command(line: bytes) -> Command:
    """Parse one SMTP command line (with or without CRLF); ProtocolError when malformed."""
    body = strip_line_ending(line)
    if not body.strip():
        raise ProtocolError("empty command line", line)
    if b"\r" in body or b"\n" in body:
        raise ProtocolError("bare CR or LF inside a command line", line)
    verb_bytes, _, argument = body.partition(b" ")
    if not _VERB.fullmatch(verb_bytes):
        raise ProtocolError("command verb is not an ASCII word", line)
    verb = verb_bytes.decode("ascii").upper()
    limit = MAX_AUTH_LINE if verb == "AUTH" else MAX_COMMAND_LINE
    if len(body) + 2 > limit:
        raise ProtocolError(f"command line longer than {limit} octets", line)
    try:
        text = argument.decode("utf-8").strip()
    except UnicodeDecodeError as exc:
        raise ProtocolError("command argument is not valid UTF-8", line) from exc
    return Command(verb, text)


@lru_cache(maxsize=256)  # replies repeat: the same EHLO lines, "250 2.0.0 Ok", ...
def parse_reply_line(line: bytes) -> tuple[int, bool, str]:
    """Parse one reply line into (code, is_last_line, text); ProtocolError when malformed."""
    body = strip_line_ending(line)
    match = _REPLY.fullmatch(body)
    if match is None:
        raise ProtocolError("reply line does not start with a 3-digit code 2xx-5xx", line)
    code, separator, text = match.groups()
    if text and not separator:
        raise ProtocolError("reply code not followed by space or '-'", line)
    if len(body) + 2 > MAX_REPLY_LINE:
        raise ProtocolError(f"reply line longer than {MAX_REPLY_LINE} octets", line)
    return int(code), separator != b"-", text.decode("utf-8", "replace")


class AddressError(ProtocolError):
    """A MAIL/RCPT path whose address itself is unusable (control characters, bad syntax)."""


class ParameterError(ProtocolError):
    """A MAIL/RCPT parameter that breaks the esmtp-param grammar (RFC 5321 4.1.2)."""


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_PARAMETER = re.compile(r"([A-Za-z0-9][A-Za-z0-9-]*)(?:=([\x21-\x3c\x3e-\x7e]+))?")


def parse_path(argument: str, keyword: str) -> tuple[str, dict[str, str]]:
    """Parse `FROM:<a@b> SIZE=10` (keyword FROM or TO) into (address, parameters)."""
    raw = argument.encode("utf-8", "replace")
    prefix = f"{keyword}:"
    if not argument[: len(prefix)].upper() == prefix:
        raise ProtocolError(f"expected {prefix}<address>", raw)
    rest = argument[len(prefix):].lstrip()
    if not rest.startswith("<") or ">" not in rest:
        raise ProtocolError("address must be enclosed in <...>", raw)
    address, _, params_text = rest[1:].partition(">")
    if address.startswith("@") and ":" in address:  # drop a source route <@a,@b:user@c>
        address = address.split(":", 1)[1]
    problem = address_problem(address)
    if problem is not None:
        raise AddressError(problem, raw)
    return address, parse_parameters(params_text, raw)


def address_problem(address: str) -> str | None:
    """What keeps `address` from going between <...> in MAIL/RCPT (None: nothing).

    The one rule for the server that reads paths and the relay that writes them.
    """
    control = _CONTROL.search(address)
    if control:
        return f"control character {control.group()!r} in address"
    if address.count("@") > 1 or " " in address or "<" in address or ">" in address:
        return f"malformed address {address!r}"
    return None


def parse_parameters(text: str, raw: bytes = b"") -> dict[str, str]:
    """`SIZE=10 BODY=8BITMIME` into {"SIZE": "10", "BODY": "8BITMIME"}; ParameterError if bad."""
    if not text:  # the common case: a path with no parameters
        return {}
    control = _CONTROL.search(text)
    if control:
        raise ParameterError(f"control character {control.group()!r} in parameters", raw)
    parameters: dict[str, str] = {}
    for item in text.split(" "):
        if not item:
            continue
        match = _PARAMETER.fullmatch(item)
        if match is None:
            raise ParameterError(f"malformed parameter {item!r}", raw)
        name = match.group(1).upper()
        if name in parameters:
            raise ParameterError(f"parameter {name} given twice", raw)
        parameters[name] = match.group(2) or ""
    return parameters
