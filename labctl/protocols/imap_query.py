# What an IMAP client asks for, as data: sequence sets, FETCH items and SEARCH keys.
#
# The contract between the IMAP command parser (imap_grammar.py), which builds these
# from the client's bytes, and the code that answers them on a mailbox (the server's
# FETCH and SEARCH evaluation). Neither side re-parses the other's text.
#   SequenceSet  "1:3,7,9:*" (RFC 3501 sequence-set); None stands for "*".
#   FetchItem    one data item of FETCH, macros (ALL, FAST, FULL) already expanded.
#   SearchKey    one node of a SEARCH program; AND, OR, NOT and sets are nodes too.
from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class SequenceRange:
    """`start:end` of a sequence set; None means `*` (the largest number in use)."""

    start: int | None
    end: int | None

    def bounds(self, largest: int) -> tuple[int, int]:
        """(low, high) once `*` is `largest`; `5:2` means `2:5` (RFC 3501 section 9)."""
        start = largest if self.start is None else self.start
        end = largest if self.end is None else self.end
        return (start, end) if start <= end else (end, start)


@dataclass(frozen=True)
class SequenceSet:
    """A sequence set of message sequence numbers or UIDs."""

    ranges: tuple[SequenceRange, ...]

    def includes(self, number: int, largest: int) -> bool:
        """True when `number` is in the set, `*` standing for `largest`."""
        for item in self.ranges:
            low, high = item.bounds(largest)
            if low <= number <= high:
                return True
        return False

    def select(self, numbers: Iterable[int], largest: int) -> Iterator[int]:
        """The members of `numbers` (in their order) that are in the set."""
        return (number for number in numbers if self.includes(number, largest))

    def __str__(self) -> str:
        def one(value: int | None) -> str:
            return "*" if value is None else str(value)

        return ",".join(one(r.start) if r.start == r.end else f"{one(r.start)}:{one(r.end)}"
                        for r in self.ranges)


# Section texts of BODY[...] (RFC 3501 section 6.4.5).
HEADER = "HEADER"
HEADER_FIELDS = "HEADER.FIELDS"
HEADER_FIELDS_NOT = "HEADER.FIELDS.NOT"
TEXT = "TEXT"
MIME = "MIME"


@dataclass(frozen=True)
class Section:
    """The part of a message BODY[...] names: `1.2.HEADER.FIELDS (From To)`."""

    part: tuple[int, ...] = ()  # MIME part numbers; () is the whole message
    text: str | None = None  # HEADER, HEADER.FIELDS, HEADER.FIELDS.NOT, TEXT, MIME or None
    fields: tuple[str, ...] = ()  # header field names, as the client spelled them

    def __str__(self) -> str:
        """The section spec as echoed in the response (`BODY[1.HEADER.FIELDS (FROM)]`)."""
        pieces = [".".join(str(p) for p in self.part)] if self.part else []
        if self.text is not None:
            pieces.append(self.text)
        spec = ".".join(pieces)
        if self.fields:
            spec += " (" + " ".join(name.upper() for name in self.fields) + ")"  # as Dovecot
        return spec


@dataclass(frozen=True)
class FetchItem:
    """One FETCH data item: FLAGS, UID, INTERNALDATE, RFC822.SIZE, ENVELOPE, BODY,
    BODYSTRUCTURE, RFC822, RFC822.HEADER, RFC822.TEXT, or BODY[section]<partial>."""

    name: str  # upper-cased; "BODY" with a section for BODY[...] and BODY.PEEK[...]
    section: Section | None = None
    peek: bool = False  # BODY.PEEK[...]: does not set \Seen
    partial: tuple[int, int] | None = None  # <start.count>

    def response_name(self) -> str:
        """The item's name in the FETCH response: `BODY[1]<0>` for `BODY.PEEK[1]<0.40>`."""
        if self.section is None:
            return self.name
        origin = f"<{self.partial[0]}>" if self.partial is not None else ""
        return f"BODY[{self.section}]{origin}"


# The search keys a SEARCH program is made of (RFC 3501 section 6.4.4), with the type of
# their arguments. "SEQUENCE" is a bare sequence set; "AND" a parenthesised list (or the
# program itself); "OR" and "NOT" combine their operands.
SEARCH_KEYS: dict[str, tuple[str, ...]] = {
    **{key: () for key in (
        "ALL", "ANSWERED", "DELETED", "DRAFT", "FLAGGED", "NEW", "OLD", "RECENT", "SEEN",
        "UNANSWERED", "UNDELETED", "UNDRAFT", "UNFLAGGED", "UNSEEN")},
    **{key: ("string",) for key in ("BCC", "BODY", "CC", "FROM", "SUBJECT", "TEXT", "TO")},
    **{key: ("date",) for key in (
        "BEFORE", "ON", "SINCE", "SENTBEFORE", "SENTON", "SENTSINCE")},
    **{key: ("flag",) for key in ("KEYWORD", "UNKEYWORD")},
    "HEADER": ("string", "string"),
    "LARGER": ("number",), "SMALLER": ("number",),
    "UID": ("sequence-set",),
    "NOT": ("key",), "OR": ("key", "key"),
}
SearchArgument = str | int | datetime.date | SequenceSet


@dataclass(frozen=True)
class SearchKey:
    """One node of a SEARCH program."""

    name: str  # a SEARCH_KEYS name, "SEQUENCE" or "AND"
    arguments: tuple[SearchArgument, ...] = ()
    operands: tuple[SearchKey, ...] = ()  # NOT: one, OR: two, AND: any number
