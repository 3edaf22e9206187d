# The values an IMAP server puts in its responses (RFC 3501 section 4), and their wire form.
#
# Response data (FETCH items, ENVELOPE, BODYSTRUCTURE, STATUS, LIST...) is built as
# plain Python values and encoded here, in one place:
#   None -> NIL; int -> number; Atom -> itself (flags, keywords, item names);
#   str -> a quoted string, or a literal when it cannot be quoted (CR, LF, 8-bit);
#   bytes -> always a literal {n}CRLF followed by the bytes (message text);
#   list/tuple -> a parenthesised list of the above;
#   Adjacent -> its items back to back, without spaces or parentheses: RFC 3501 writes
#     the parts of a multipart (`1*body`) and the addresses of an address list
#     (`"(" 1*address ")"`) so, e.g. `(("a" NIL "b" "c")("d" NIL "e" "f"))`.
from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TypeAlias

_NOT_QUOTABLE = re.compile(rb"[\x80-\xff\r\n\x00]")  # 8-bit, CR, LF, NUL: only as a literal


class Atom(str):
    """Text sent as it is, unquoted: a flag (\\Seen), a keyword or a data item name."""

    __slots__ = ()


class Adjacent(tuple):  # type: ignore[type-arg]
    """Values written one after the other with nothing between them (see above)."""

    __slots__ = ()


ImapValue: TypeAlias = "int | str | bytes | Atom | Sequence[ImapValue] | None"


def encode(value: ImapValue) -> bytes:
    """The wire form of one response value."""
    if value is None:
        return b"NIL"
    if isinstance(value, bool):
        raise TypeError("IMAP has no boolean values")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"IMAP numbers are unsigned, got {value}")
        return str(value).encode("ascii")
    if isinstance(value, Atom):
        return value.encode("ascii")
    if isinstance(value, str):
        return quoted_or_literal(value.encode("utf-8"))
    if isinstance(value, bytes):
        return literal(value)
    if isinstance(value, Adjacent):
        return b"".join(encode(item) for item in value)
    return b"(" + b" ".join(encode(item) for item in value) + b")"


def quoted_or_literal(data: bytes) -> bytes:
    """A quoted string when the bytes allow it (7-bit, no CR/LF/NUL), else a literal."""
    if _NOT_QUOTABLE.search(data):
        return literal(data)
    return b'"' + data.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def literal(data: bytes) -> bytes:
    """A synchronizing literal as a server sends it: {size}CRLF then the bytes."""
    return b"{%d}\r\n" % len(data) + data
