# Making client-supplied text safe to write into headers and log lines.
#
# EHLO names, envelope addresses and remote replies come from the network; a CR, LF,
# NUL or escape sequence in them must never split a header or a log line, nor reach a
# terminal. printable() keeps printable ASCII and shows every other character as a
# Python escape, so the text stays readable and nothing is silently dropped.
from __future__ import annotations


def printable(text: str, limit: int = 200) -> str:
    """`text` with every character outside printable ASCII escaped (\\x00, \\u00e9, ...)."""
    if is_printable_ascii(text):
        return text[:limit]
    escaped = "".join(c if c.isascii() and c.isprintable() else ascii(c)[1:-1] for c in text)
    return escaped[:limit]


def is_printable_ascii(text: str) -> bool:
    """True when `text` is printable ASCII (no controls, no 8-bit characters)."""
    return text.isascii() and text.isprintable()
