# Whether one message matches an IMAP SEARCH program (RFC 3501 section 6.4.4).
#
# matches() evaluates an imap_query.SearchKey tree on one message: its MessageFacts
# (flags, internal date, size, raw bytes), its sequence number, whether the session
# counts it as \Recent, and the largest sequence number and UID (what `*` stands for).
# As Dovecot answers:
#   - string keys match a case-insensitive substring of decoded text: header values
#     with RFC 2047 encoded words decoded (raw 8-bit text read as UTF-8, else latin-1)
#     and whitespace runs as one space; FROM/TO/CC/BCC the parsed addresses written
#     out again (`name <mailbox@host>`);
#     BODY the text parts (message/rfc822 ones included) with their transfer encoding
#     and charset undone; TEXT every header block as well;
#   - BEFORE/ON/SINCE compare the internal date's day in its own zone; SENT* the Date
#     header's day as written (time and zone ignored); no valid Date counts as 1970-01-01.
from __future__ import annotations

import binascii
import datetime
import email.errors
import email.header
import email.utils
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from labctl.protocols.imap_query import SearchKey, SequenceSet
from labctl.protocols.imap_values import ImapValue
from roles.mailserver.imap_bodystructure import transfer_encoding
from roles.mailserver.imap_envelope import (
    MISSING_DOMAIN,
    MISSING_MAILBOX,
    address_list,
)
from roles.mailserver.imap_fetch import MessageFacts
from roles.mailserver.imap_message import MessagePart

_FLAG_KEYS = {"ANSWERED": "\\Answered", "DELETED": "\\Deleted", "DRAFT": "\\Draft",
              "FLAGGED": "\\Flagged", "SEEN": "\\Seen"}
_ADDRESS_KEYS = {"BCC": "Bcc", "CC": "Cc", "FROM": "From", "TO": "To"}
_PLACEHOLDERS = {MISSING_MAILBOX, MISSING_DOMAIN}
_NO_DATE = datetime.date(1970, 1, 1)


@dataclass(frozen=True)
class SearchTarget:
    """One message as SEARCH sees it, with what `*` means in its mailbox."""

    facts: MessageFacts
    sequence: int
    recent: bool
    largest_sequence: int
    largest_uid: int

    def has_flag(self, flag: str) -> bool:
        """True when the message carries `flag` (case-insensitive, as IMAP flags are)."""
        return flag.lower() in {own.lower() for own in self.facts.flags}

    @functools.cached_property
    def body_text(self) -> str:
        """The decoded text of every text part, casefolded."""
        return "\n".join(_texts(self.facts.message)).casefold()

    @functools.cached_property
    def header_text(self) -> str:
        """Every header block (the message's, its parts', inner messages'), casefolded."""
        return "\n".join(_header_blocks(self.facts.message)).casefold()


def matches(key: SearchKey, target: SearchTarget) -> bool:
    """True when the message `target` satisfies the search key `key`."""
    name = key.name
    if name in _FLAG_KEYS:
        return target.has_flag(_FLAG_KEYS[name])
    if name.startswith("UN") and name[2:] in _FLAG_KEYS:
        return not target.has_flag(_FLAG_KEYS[name[2:]])
    evaluate = _EVALUATORS.get(name)
    if evaluate is None:
        raise ValueError(f"unknown SEARCH key {name!r}")
    return evaluate(key, target)


def decoded_header(value: bytes) -> str:
    """A header value as text: RFC 2047 encoded words decoded, 8-bit read as UTF-8/latin-1."""
    text = _decode_bytes(value, "utf-8")
    if "=?" not in text:
        return text
    try:
        return str(email.header.make_header(email.header.decode_header(text)))
    except (LookupError, UnicodeError, ValueError, email.errors.HeaderParseError):
        return text


def address_text(value: bytes) -> str:
    """An address header as Dovecot searches it: its addresses written out again (names
    decoded, `name <mailbox@host>`, groups as `group: ...;`), unparsable ones left empty."""
    pieces: list[str] = []
    for name, _route, mailbox, host in address_list(value) or []:
        if mailbox is None:
            pieces.append(";")  # the end of a group
        elif host is None:
            pieces.append(_plain(mailbox) + ":")
        else:
            spec = "@".join(text for text in (_plain(mailbox), _plain(host)) if text)
            pieces.append(f"{_plain(name)} <{spec}>" if name is not None else spec)
    return ", ".join(pieces)


def _plain(value: ImapValue) -> str:
    """An ENVELOPE text as searchable text: encoded words decoded, placeholders empty."""
    if isinstance(value, bytes):
        return decoded_header(value)
    if not isinstance(value, str) or value in _PLACEHOLDERS:
        return ""
    return decoded_header(value.encode("utf-8"))


def sent_date(part: MessagePart) -> datetime.date:
    """The day of the Date header as written; 1970-01-01 when missing or invalid."""
    value = part.field_value("Date")
    parsed = email.utils.parsedate_tz(_decode_bytes(value, "utf-8")) if value else None
    if parsed is None:
        return _NO_DATE
    try:
        return datetime.date(parsed[0], parsed[1], parsed[2])
    except ValueError:
        return _NO_DATE


def _decode_bytes(data: bytes, charset: str) -> str:
    try:
        return data.decode(charset)
    except (LookupError, UnicodeDecodeError):
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return data.decode("latin-1")


def _texts(part: MessagePart) -> Iterator[str]:
    """The decoded bodies of the text parts under `part`, in order."""
    if part.is_multipart:
        for child in part.children:
            yield from _texts(child)
    elif part.message is not None:
        yield from _texts(part.message)
    elif _searchable(part):
        yield _decode_bytes(_transfer_decoded(part), part.content_type.parameter("charset")
                            or "us-ascii")


def _searchable(part: MessagePart) -> bool:
    """As Dovecot: a body is searched when its Content-Type says text/ or message/ (or
    there is none), whatever the parser made of it."""
    value = part.field_value("Content-Type")
    return value is None or value.lower().startswith((b"text/", b"message/"))


def _transfer_decoded(part: MessagePart) -> bytes:
    encoding = (transfer_encoding(part) or "").lower()
    try:
        if encoding == "base64":
            return binascii.a2b_base64(part.body)
        if encoding == "quoted-printable":
            return binascii.a2b_qp(part.body)
    except (binascii.Error, ValueError):
        pass
    return part.body


def _header_blocks(part: MessagePart) -> Iterator[str]:
    yield decoded_header(part.header)
    for child in part.children:
        yield from _header_blocks(child)
    if part.message is not None:
        yield from _header_blocks(part.message)


def _string(key: SearchKey, index: int = 0) -> str:
    return str(key.arguments[index]).casefold()


def _date(key: SearchKey) -> datetime.date:
    value = key.arguments[0]
    if not isinstance(value, datetime.date):
        raise ValueError(f"SEARCH {key.name} needs a date, got {value!r}")
    return value


def _number(key: SearchKey) -> int:
    value = key.arguments[0]
    if not isinstance(value, int):
        raise ValueError(f"SEARCH {key.name} needs a number, got {value!r}")
    return value


def _set(key: SearchKey) -> SequenceSet:
    value = key.arguments[0]
    if not isinstance(value, SequenceSet):
        raise ValueError(f"SEARCH {key.name} needs a sequence set, got {value!r}")
    return value


def _header_contains(target: SearchTarget, field: str, wanted: str) -> bool:
    """True when a `field` header's decoded text (whitespace runs as one space) has `wanted`."""
    return any(wanted in " ".join(decoded_header(value).split()).casefold()
               for value in target.facts.message.field_values(field))


def _addresses_contain(target: SearchTarget, field: str, wanted: str) -> bool:
    return any(wanted in address_text(value).casefold()
               for value in target.facts.message.field_values(field))


def _compare_day(day: datetime.date, key: SearchKey) -> bool:
    wanted = _date(key)
    if key.name.endswith("BEFORE"):
        return day < wanted
    if key.name.endswith("ON"):
        return day == wanted
    return day >= wanted


_Evaluator = Callable[[SearchKey, SearchTarget], bool]


def _address_search(field: str) -> _Evaluator:
    """The evaluator of FROM, TO, CC or BCC: a substring of the addresses in `field`."""
    return lambda key, target: _addresses_contain(target, field, _string(key))


_EVALUATORS: dict[str, _Evaluator] = {
    "ALL": lambda key, target: True,
    "NEW": lambda key, target: target.recent and not target.has_flag("\\Seen"),
    "OLD": lambda key, target: not target.recent,
    "RECENT": lambda key, target: target.recent,
    "KEYWORD": lambda key, target: target.has_flag(str(key.arguments[0])),
    "UNKEYWORD": lambda key, target: not target.has_flag(str(key.arguments[0])),
    **{name: _address_search(field) for name, field in _ADDRESS_KEYS.items()},
    "SUBJECT": lambda key, target: _header_contains(target, "Subject", _string(key)),
    "HEADER": lambda key, target: _header_contains(target, str(key.arguments[0]),
                                                   _string(key, 1)),
    "BODY": lambda key, target: _string(key) in target.body_text,
    "TEXT": lambda key, target: _string(key) in target.header_text
    or _string(key) in target.body_text,
    **{name: lambda key, target: _compare_day(target.facts.internal_date.date(), key)
       for name in ("BEFORE", "ON", "SINCE")},
    **{name: lambda key, target: _compare_day(sent_date(target.facts.message), key)
       for name in ("SENTBEFORE", "SENTON", "SENTSINCE")},
    "LARGER": lambda key, target: target.facts.size > _number(key),
    "SMALLER": lambda key, target: target.facts.size < _number(key),
    "UID": lambda key, target: _set(key).includes(target.facts.uid, target.largest_uid),
    "SEQUENCE": lambda key, target: _set(key).includes(target.sequence,
                                                       target.largest_sequence),
    "NOT": lambda key, target: not matches(key.operands[0], target),
    "OR": lambda key, target: any(matches(operand, target) for operand in key.operands),
    "AND": lambda key, target: all(matches(operand, target) for operand in key.operands),
}
