# The answer to one FETCH data item for one message (RFC 3501 section 6.4.5 and 7.4.2).
#
# fetch_item() takes what the session knows of a message (MessageFacts: UID, flags,
# internal date, size and the raw bytes, parsed once on first need) and one
# imap_query.FetchItem, and returns the response name, the value (an imap_values
# ImapValue) and whether a server must now set \Seen (BODY[...] without PEEK, RFC822,
# RFC822.TEXT): a fact it reports, never a change it makes. Sections are slices of the
# raw bytes; a part that does not exist is empty (as Dovecot answers).
# A FETCH command answers the same items for every message it names: FetchPlan works
# out once their order (message text last, as Dovecot), their response names and
# whether they set \Seen, then answers each message with the bytes of its
# parenthesised data (FLAGS and RFC822.SIZE given by the caller, from its view).
from __future__ import annotations

import datetime
import functools
from collections.abc import Sequence
from dataclasses import dataclass, field

from labctl.protocols.imap_query import (
    HEADER,
    HEADER_FIELDS,
    HEADER_FIELDS_NOT,
    MIME,
    TEXT,
    FetchItem,
    Section,
)
from labctl.protocols.imap_values import Atom, ImapValue, encode
from roles.mailserver.imap_bodystructure import body_structure
from roles.mailserver.imap_envelope import envelope
from roles.mailserver.imap_message import MessagePart, parse_message

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun",
           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_SETS_SEEN = frozenset({"RFC822", "RFC822.TEXT"})
_TEXT_ITEMS = frozenset({"RFC822", "RFC822.HEADER", "RFC822.TEXT"})
WHOLE_MESSAGE = Section()  # BODY[]: the message as it is
FROM_LISTING = frozenset({"FLAGS", "UID", "INTERNALDATE", "RFC822.SIZE"})  # no bytes needed


@dataclass(frozen=True)
class MessageFacts:
    """What FETCH and SEARCH need of one message; `raw` is parsed once, when first needed."""

    uid: int
    flags: Sequence[str]  # as IMAP atoms: \\Seen, \\Answered, keywords
    internal_date: datetime.datetime  # aware
    raw: bytes = field(repr=False)

    @property
    def size(self) -> int:
        """RFC822.SIZE: the message's size in octets, as the client receives it."""
        return len(self.raw)

    @functools.cached_property
    def message(self) -> MessagePart:
        """The parsed message."""
        return parse_message(self.raw)


@dataclass(frozen=True)
class FetchAnswer:
    """One item of a FETCH response, and whether answering it sets \\Seen."""

    name: str
    value: ImapValue
    sets_seen: bool


class FetchPlan:
    """The items of one FETCH command, worked out once for all the messages it names."""

    def __init__(self, items: Sequence[FetchItem]) -> None:
        self.items = tuple(sorted(items, key=is_text))  # stable: text last, as Dovecot
        self._steps = tuple((item.response_name().encode("ascii") + b" ", item, is_whole(item))
                            for item in self.items)
        self.sets_seen = any(sets_seen(item) for item in self.items)
        self.needs_bytes = any(item.name not in FROM_LISTING for item in self.items)

    def with_flags(self) -> FetchPlan:
        """The plan answering FLAGS too (RFC 3501 6.4.5: the new flags after \\Seen is set)."""
        if any(item.name == "FLAGS" for item in self.items):
            return self
        return FetchPlan([*self.items, FetchItem("FLAGS")])

    def answer(self, number: int, facts: MessageFacts, flags: bytes, size: int) -> bytes:
        """One message's `n FETCH (NAME value ...)`; `flags` (encoded) and `size` from the
        view. Joined once: message text goes in as it is, never copied on its own."""
        pieces = [b"%d FETCH (" % number]
        for name, item, whole in self._steps:
            pieces.append(name)
            if whole:  # the message as it is: no parsing, no copy until the join
                pieces += (b"{%d}\r\n" % len(facts.raw), facts.raw)
            elif item.name == "FLAGS":
                pieces.append(flags)
            elif item.name == "RFC822.SIZE":
                pieces.append(b"%d" % size)
            else:
                value = fetch_value(facts, item)
                if isinstance(value, bytes):  # a literal: its octets join the rest as they are
                    pieces += (b"{%d}\r\n" % len(value), value)
                else:
                    pieces.append(encode(value))
            pieces.append(b" ")
        if self.items:
            pieces.pop()  # the space after the last
        pieces.append(b")")
        return b"".join(pieces)


def is_text(item: FetchItem) -> bool:
    """True for the items carrying message text: Dovecot answers them after the others."""
    return item.section is not None or item.name in _TEXT_ITEMS


def is_whole(item: FetchItem) -> bool:
    """True for the items answered with the whole message: RFC822, BODY[] (no <partial>)."""
    return item.partial is None and (item.name == "RFC822" or item.section == WHOLE_MESSAGE)


def sets_seen(item: FetchItem) -> bool:
    """True when answering `item` sets \\Seen (BODY[...] without PEEK, RFC822, RFC822.TEXT)."""
    return not item.peek if item.section is not None else item.name in _SETS_SEEN


def fetch_item(facts: MessageFacts, item: FetchItem) -> FetchAnswer:
    """The response to one FETCH data item for one message."""
    return FetchAnswer(item.response_name(), fetch_value(facts, item), sets_seen(item))


def fetch_value(facts: MessageFacts, item: FetchItem) -> ImapValue:
    """The value answering one FETCH data item for one message."""
    name = item.name
    if item.section is not None:
        if item.section == WHOLE_MESSAGE:  # no need to parse the message
            return _partial(facts.raw, item.partial)
        return _partial(section_bytes(facts.message, item.section), item.partial)
    if name == "FLAGS":
        return [Atom(flag) for flag in facts.flags]
    if name == "UID":
        return facts.uid
    if name == "INTERNALDATE":
        return internal_date(facts.internal_date)
    if name == "RFC822.SIZE":
        return facts.size
    if name == "ENVELOPE":
        return envelope(facts.message)
    if name in ("BODY", "BODYSTRUCTURE"):
        return body_structure(facts.message, extensible=name == "BODYSTRUCTURE")
    if name == "RFC822":
        return facts.raw
    if name == "RFC822.HEADER":
        return facts.message.header
    if name == "RFC822.TEXT":
        return facts.message.body
    raise ValueError(f"unknown FETCH data item {name!r}")


def internal_date(moment: datetime.datetime) -> str:
    """INTERNALDATE text: `17-Jul-1996 02:44:25 -0700` (the date's own zone)."""
    offset = moment.utcoffset() or datetime.timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    return (f"{moment.day:02d}-{_MONTHS[moment.month - 1]}-{moment.year:04d} "
            f"{moment:%H:%M:%S} {sign}{hours:02d}{minutes:02d}")


def find_part(message: MessagePart, numbers: Sequence[int]) -> MessagePart | None:
    """The part numbered `numbers` (1.2.3), or None, as Dovecot finds it: part 1 of a
    part that is not multipart is itself, and only a message/rfc822 part has parts below
    that (those of the message it holds)."""
    part = message
    for index, number in enumerate(numbers):
        more = index + 1 < len(numbers)
        if part.is_multipart:
            if not 1 <= number <= len(part.children):
                return None
            part = part.children[number - 1]
        elif number != 1 or (more and not part.is_message):
            return None
        inner = part.message
        if more and inner is not None:
            part = inner
    return part


def section_bytes(message: MessagePart, section: Section) -> bytes:
    """The bytes BODY[section] names; empty when that part does not exist (as Dovecot)."""
    part = find_part(message, section.part)
    if part is None:
        return b""
    if section.text is None:
        return part.body if section.part else part.raw[part.start:part.end]
    if section.text == MIME:
        return part.header
    if section.part:  # HEADER and TEXT of a part are those of the message it holds
        part = part.message
        if part is None:
            return b""
    if section.text == TEXT:
        return part.body
    if section.text == HEADER:
        return part.header
    if section.text in (HEADER_FIELDS, HEADER_FIELDS_NOT):
        wanted = {name.lower() for name in section.fields}
        keep = section.text == HEADER_FIELDS
        # as Dovecot: .NOT ends with the header's blank line only when it has one
        blank = b"\r\n" if keep or part.has_blank_line else b""
        return b"".join(part.raw[f.start:f.end] for f in part.fields
                        if (f.name.lower() in wanted) == keep) + blank
    raise ValueError(f"unknown section text {section.text!r}")


def _partial(data: bytes, partial: tuple[int, int] | None) -> bytes:
    if partial is None:
        return data
    start, count = partial
    return data[start:start + count]
