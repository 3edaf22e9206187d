# The lexical layer of IMAP4rev1 commands (RFC 3501 section 9): a cursor over one command.
#
# The server machine (imap_server.py) hands the grammar a complete command: its lines
# with every literal's bytes in place ({n}CRLF or {n+}CRLF, RFC 7888, then n octets),
# the final CRLF removed. A Reader walks it left to right: atoms, numbers, quoted
# strings with \\ and \" escapes, literals, astrings, parenthesis depth (bounded) and
# sequence sets. Every failure is a CommandSyntaxError naming what was expected and the
# offset where it was not found, so a BAD reply says what and where.
from __future__ import annotations

import re

from labctl.protocols.errors import ProtocolError
from labctl.protocols.imap_query import SequenceRange, SequenceSet

MAX_NESTING = 16  # parenthesised lists inside one command (SEARCH, FETCH, APPEND flags)
MAX_NUMBER_DIGITS = 10  # number = 1*DIGIT fitting in 32 bits (RFC 3501 section 9)
MAX_NUMBER = 2**32 - 1
# ATOM-CHAR: any CHAR except atom-specials: ( ) { SP CTL % * " \ ]
_ATOM = re.compile(rb"[^(){ \x00-\x1f\x7f%*\"\\\]\x80-\xff]+")
_ASTRING_ATOM = re.compile(rb"[^(){ \x00-\x1f\x7f%*\"\\\x80-\xff]+")  # ATOM-CHAR / "]"
_LIST_ATOM = re.compile(rb"[^(){ \x00-\x1f\x7f\"\\\x80-\xff]+")  # with % * and ]
_NUMBER = re.compile(rb"[0-9]+")
_LITERAL = re.compile(rb"\{([0-9]{1,10})(\+?)\}\r?\n")
_SEQUENCE = re.compile(rb"[0-9*:,]+")
_SEQUENCE_RANGE = re.compile(r"(\*|[1-9][0-9]{0,9})(?::(\*|[1-9][0-9]{0,9}))?")


class CommandSyntaxError(ProtocolError):
    """A command that breaks the grammar: answered BAD (or NO with `code`, e.g. BADCHARSET)."""

    def __init__(self, message: str, status: str = "BAD", code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class Reader:
    """A cursor over the bytes of one complete command."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0
        self.depth = 0

    def error(self, expected: str) -> CommandSyntaxError:
        """The error for `expected` missing at the cursor."""
        found = self.data[self.pos:self.pos + 16].decode("ascii", "backslashreplace")
        where = f"found {found!r}" if found else "found the end of the command"
        return CommandSyntaxError(f"expected {expected} at offset {self.pos}, {where}")

    def at_end(self) -> bool:
        """True when every byte has been read."""
        return self.pos >= len(self.data)

    def peek(self, text: bytes) -> bool:
        """True when the bytes at the cursor start with `text` (ASCII case-insensitive)."""
        return self.data[self.pos:self.pos + len(text)].upper() == text.upper()

    def skip(self, text: bytes) -> bool:
        """Consume `text` when it is at the cursor; say whether it was."""
        if not self.peek(text):
            return False
        self.pos += len(text)
        return True

    def expect(self, text: bytes, what: str = "") -> None:
        """Consume `text` or raise naming it."""
        if not self.skip(text):
            raise self.error(what or repr(text.decode("ascii")))

    def space(self) -> None:
        """Consume the single SP between two arguments."""
        self.expect(b" ", "SP")

    def list_space(self) -> None:
        """Consume the SP between two items of a parenthesised list."""
        self.expect(b" ", "SP or ')'")

    def end(self) -> None:
        """Require the end of the command (no trailing arguments)."""
        if not self.at_end():
            raise self.error("the end of the command")

    def match(self, pattern: re.Pattern[bytes], what: str) -> bytes:
        """The bytes `pattern` matches at the cursor, consumed; an error naming `what` if none."""
        found = pattern.match(self.data, self.pos)
        if found is None:
            raise self.error(what)
        self.pos = found.end()
        return found.group(0)

    def atom(self, what: str = "an atom") -> str:
        """An atom (ASCII, no specials)."""
        return self.match(_ATOM, what).decode("ascii")

    def number(self, what: str = "a number") -> int:
        """A number of at most 32 bits."""
        digits = self.match(_NUMBER, what)
        if len(digits) > MAX_NUMBER_DIGITS or int(digits) > MAX_NUMBER:
            raise CommandSyntaxError(f"{what} {digits[:16]!r} is larger than {MAX_NUMBER}")
        return int(digits)

    def quoted(self) -> bytes:
        """A quoted string, escapes resolved; no CR, LF or NUL inside."""
        self.expect(b'"', "a quoted string")
        value = bytearray()
        while self.pos < len(self.data):
            byte = self.data[self.pos]
            self.pos += 1
            if byte == 0x22:  # closing quote
                return bytes(value)
            if byte == 0x5C:  # backslash: only \\ and \" are allowed
                if self.pos >= len(self.data) or self.data[self.pos] not in b'"\\':
                    raise self.error('\\\\ or \\" after a backslash in a quoted string')
                byte = self.data[self.pos]
                self.pos += 1
            elif byte in b"\r\n\x00":
                self.pos -= 1
                raise self.error("a closing quote (CR, LF and NUL cannot be quoted)")
            value.append(byte)
        raise self.error("a closing quote")

    def literal(self) -> bytes:
        """A literal {n} or {n+} with its n octets."""
        found = _LITERAL.match(self.data, self.pos)
        if found is None:
            raise self.error("a literal {n}")
        start = found.end()
        end = start + int(found.group(1))
        if end > len(self.data):
            raise self.error(f"{found.group(1).decode()} octets of literal data")
        self.pos = end
        return self.data[start:end]

    def string(self, what: str = "a string") -> bytes:
        """A quoted string or a literal."""
        if self.peek(b'"'):
            return self.quoted()
        if self.peek(b"{"):
            return self.literal()
        raise self.error(what)

    def astring(self, what: str = "an astring", pattern: re.Pattern[bytes] = _ASTRING_ATOM) -> str:
        """An atom (`]` allowed) or a string, as UTF-8 text."""
        quoted = self.peek(b'"') or self.peek(b"{")
        raw = self.string(what) if quoted else self.match(pattern, what)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CommandSyntaxError(f"{what} before offset {self.pos} is not UTF-8") from exc

    def list_mailbox(self) -> str:
        """A LIST/LSUB pattern: an atom that may hold `%` and `*`, or a string."""
        return self.astring("a mailbox pattern", _LIST_ATOM)

    def open_list(self, what: str) -> None:
        """Consume `(` and count one level of nesting."""
        self.expect(b"(", what)
        self.enter()

    def enter(self) -> None:
        """One level deeper (a list, or a NOT/OR operand); bounded by MAX_NESTING."""
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise CommandSyntaxError(f"nesting deeper than {MAX_NESTING} levels (parentheses,"
                                     f" NOT, OR) at offset {self.pos}")

    def close_list(self) -> bool:
        """Consume `)` when it is at the cursor (ending a list); say whether it was."""
        if not self.skip(b")"):
            return False
        self.leave()
        return True

    def leave(self) -> None:
        """One level of nesting closed."""
        self.depth -= 1

    def sequence_set(self) -> SequenceSet:
        """A sequence set such as 1:3,7,9:* (numbers non-zero, * the largest in use)."""
        start = self.pos
        text = self.match(_SEQUENCE, "a sequence set").decode("ascii")
        ranges = []
        for piece in text.split(","):
            found = _SEQUENCE_RANGE.fullmatch(piece)
            if found is None:
                raise CommandSyntaxError(f"bad sequence set {text[:40]!r} at offset {start}")
            low, high = found.group(1), found.group(2) or found.group(1)
            values = [None if v == "*" else int(v) for v in (low, high)]
            if any(v is not None and v > MAX_NUMBER for v in values):
                raise CommandSyntaxError(f"sequence number larger than {MAX_NUMBER} at {start}")
            ranges.append(SequenceRange(values[0], values[1]))
        return SequenceSet(tuple(ranges))


def announced_literal(line: bytes) -> tuple[int, bool] | None:
    """(size, synchronizing) when a command line ends with {n} or {n+}, else None."""
    end = line.rfind(b"{")
    if end < 0:
        return None
    found = _LITERAL.fullmatch(line, end)
    if found is None:
        return None
    return int(found.group(1)), found.group(2) != b"+"
