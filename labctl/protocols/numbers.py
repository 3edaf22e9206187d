# Decimal numbers in protocol arguments: ASCII digits only, and bounded in length.
#
# str.isdigit() accepts "²" or "٣", which int() then refuses (or reads as 3), and an
# unbounded digit string makes a peer allocate huge integers. Every number a state
# machine reads from a peer (SMTP SIZE=, POP3 message numbers) goes through here.
from __future__ import annotations

import re

from labctl.protocols.errors import ProtocolError

_ASCII_DIGITS = re.compile(r"[0-9]+")


def is_ascii_number(text: str, max_digits: int) -> bool:
    """True when `text` is 1..max_digits ASCII digits (0-9) and nothing else."""
    return len(text) <= max_digits and _ASCII_DIGITS.fullmatch(text) is not None


def parse_ascii_number(text: str, what: str, max_digits: int) -> int:
    """`text` as an int; ProtocolError naming `what` unless it is 1..max_digits ASCII digits."""
    if not is_ascii_number(text, max_digits):
        shown = text if len(text) <= 24 else text[:24] + "..."
        raise ProtocolError(f"{what} must be 1 to {max_digits} ASCII digits, got {shown!r}")
    return int(text)
