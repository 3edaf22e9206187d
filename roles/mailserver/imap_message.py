# A raw message as a tree of MIME parts that point into its bytes, for IMAP FETCH and SEARCH.
#
# parse_message() scans the message once, lazily: a MessagePart knows where its header
# block and body start and end in the original bytes, and only works out its header
# fields, its children (multipart) or its inner message (message/rfc822) when asked.
# So every BODY[section] is a slice of what the store holds, never a re-serialisation.
# The scan follows Dovecot where MIME is broken, and never raises:
#   - lines end with CRLF or a bare LF; a header block without a blank line takes the
#     whole part (the body is empty);
#   - a boundary is a line starting with "--" + boundary; the line break before it
#     belongs to the boundary; a missing close delimiter ends the part at its parent's end;
#   - a multipart without a boundary parameter has no parts; a part at MAX_DEPTH is
#     not looked into (BODYSTRUCTURE shows it as application/octet-stream);
#   - bytes are never decoded strictly: 8-bit header text is kept as bytes.
from __future__ import annotations

import functools
from dataclasses import dataclass

from roles.mailserver.mime_content_type import (
    INVALID_TYPE,
    MESSAGE_RFC822,
    TEXT_PLAIN,
    ContentType,
    parse_content_type,
)

MAX_DEPTH = 99  # a part this deep (the message is 0) is not looked into: Dovecot's limit
_WHITESPACE = b" \t\r\n"


@dataclass(frozen=True)
class HeaderField:
    """One header field: its name and the offsets of the field and of its value."""

    name: str  # as spelled, latin-1 decoded
    start: int  # first byte of the name
    value_start: int  # first byte after the colon
    end: int  # after the field's last line break (continuation lines included)


class MessagePart:
    """A message or MIME part: slices of `raw` between `start` and `end`."""

    def __init__(self, raw: bytes, start: int, end: int, depth: int = 0,
                 default_type: ContentType = TEXT_PLAIN, is_message: bool = True) -> None:
        self.raw = raw
        self.is_message_header = is_message  # a message's header, not a MIME part's
        self.start = start
        self.end = end
        self.depth = depth
        self.default_type = default_type
        self.body_start, self.has_blank_line = _header_end(raw, start, end)

    @property
    def header(self) -> bytes:
        """The header block, blank line included."""
        return self.raw[self.start:self.body_start]

    @property
    def body(self) -> bytes:
        """The body: everything after the blank line."""
        return self.raw[self.body_start:self.end]

    @functools.cached_property
    def fields(self) -> tuple[HeaderField, ...]:
        """The header fields in order; a line that is no field is one without a name."""
        return tuple(_header_fields(self.raw, self.start, self.body_start))

    @functools.cached_property
    def _fields_by_name(self) -> dict[str, list[HeaderField]]:
        index: dict[str, list[HeaderField]] = {}
        for field in self.fields:
            index.setdefault(field.name.lower(), []).append(field)
        return index

    def field_values(self, name: str, keep_trailing: bool = False) -> list[bytes]:
        """The values (unfolded, stripped) of every field called `name`; `keep_trailing`
        keeps the whitespace at their end, as ENVELOPE shows it."""
        return [unfold(self.raw[f.value_start:f.end], keep_trailing)
                for f in self._fields_by_name.get(name.lower(), ())]

    def field_value(self, name: str) -> bytes | None:
        """The first field called `name`, unfolded and stripped, or None."""
        values = self.field_values(name)
        return values[0] if values else None

    def content_field(self, name: str) -> bytes | None:
        """The first MIME field `name` (Content-*); as Dovecot, a message with neither
        MIME-Version nor Content-Type has none that count."""
        if self.is_message_header and not self._fields_by_name.get("mime-version") \
                and not self._fields_by_name.get("content-type"):
            return None
        return self.field_value(name)

    @functools.cached_property
    def content_type(self) -> ContentType:
        """The part's (first) Content-Type, or its default (text/plain; message/rfc822 in
        a digest); an invalid one is an empty type and subtype, as Dovecot shows it."""
        value = self.field_value("Content-Type")
        if value is None:
            return self.default_type
        return parse_content_type(value) or INVALID_TYPE

    @property
    def too_deep(self) -> bool:
        """True for a part nested so deep that its content is not parsed."""
        return self.depth >= MAX_DEPTH

    @property
    def is_multipart(self) -> bool:
        """True for a multipart/* part not nested too deep (its children may be none)."""
        return self.content_type.type == "multipart" and self.depth < MAX_DEPTH

    @property
    def is_message(self) -> bool:
        """True for a message/rfc822 part (its body is a message), not too deep."""
        ctype = self.content_type
        return ctype.type == "message" and ctype.subtype == "rfc822" and self.depth < MAX_DEPTH

    def _boundary(self) -> bytes:
        boundary = self.content_type.parameter("boundary")
        return boundary.encode("latin-1", "replace") if boundary else b""

    @functools.cached_property
    def children(self) -> tuple[MessagePart, ...]:
        """The parts of a multipart, in order; () for any other part."""
        if not self.is_multipart or not self._boundary():
            return ()
        default = MESSAGE_RFC822 if self.content_type.subtype == "digest" else TEXT_PLAIN
        return tuple(MessagePart(self.raw, start, end, self.depth + 1, default, False)
                     for start, end in _part_ranges(self.raw, self.body_start, self.end,
                                                    self._boundary()))

    @functools.cached_property
    def message(self) -> MessagePart | None:
        """The message a message/rfc822 part holds, or None."""
        if not self.is_message:
            return None
        return MessagePart(self.raw, self.body_start, self.end, self.depth + 1)


def parse_message(raw: bytes) -> MessagePart:
    """The message `raw` as a lazily parsed part tree (never raises)."""
    return MessagePart(raw, 0, len(raw))


def unfold(value: bytes, keep_trailing: bool = False) -> bytes:
    """A header value with its line breaks removed and outer whitespace stripped."""
    unfolded = value.replace(b"\r\n", b"").replace(b"\n", b"")
    return unfolded.lstrip(_WHITESPACE) if keep_trailing else unfolded.strip(_WHITESPACE)


def _line_end(raw: bytes, pos: int, end: int) -> int:
    """The offset after the line break of the line at `pos` (or `end`)."""
    newline = raw.find(b"\n", pos, end)
    return end if newline < 0 else newline + 1


def _is_blank(raw: bytes, pos: int, line_end: int) -> bool:
    return raw[pos:line_end] in (b"\r\n", b"\n")


def _header_end(raw: bytes, start: int, end: int) -> tuple[int, bool]:
    """Where the body starts (after the blank line, or `end`), and whether there is one:
    the first line that is CRLF or LF alone, found with bytes.find, not line by line."""
    for blank in (b"\r\n", b"\n"):  # the header block is empty
        if raw.startswith(blank, start, end):
            return start + len(blank), True
    crlf = raw.find(b"\n\r\n", start, end)
    lf = raw.find(b"\n\n", start, end if crlf < 0 else crlf + 1)  # only an earlier one
    if lf >= 0:
        return lf + 2, True
    return (crlf + 3, True) if crlf >= 0 else (end, False)


def _header_fields(raw: bytes, start: int, end: int) -> list[HeaderField]:
    fields: list[HeaderField] = []
    pos = start
    while pos < end:
        line_end = _line_end(raw, pos, end)
        if _is_blank(raw, pos, line_end):
            break
        if raw[pos] in b" \t" and fields:  # continuation line
            last = fields[-1]
            fields[-1] = HeaderField(last.name, last.start, last.value_start, line_end)
        else:  # a line without a colon is a nameless field (kept by HEADER.FIELDS.NOT)
            colon = raw.find(b":", pos, line_end)
            name = raw[pos:colon].rstrip(b" \t").decode("latin-1") if colon > pos else ""
            fields.append(HeaderField(name, pos, colon + 1 if colon > pos else line_end,
                                      line_end))
        pos = line_end
    return fields


def _part_ranges(raw: bytes, start: int, end: int, boundary: bytes) -> list[tuple[int, int]]:
    """The (start, end) of each part between `--boundary` lines in raw[start:end]."""
    delimiter = b"--" + boundary
    ranges: list[tuple[int, int]] = []
    part_start: int | None = None
    pos = start
    while True:
        found = raw.find(delimiter, pos, end)
        if found < 0:
            break
        if found != start and raw[found - 1] != 0x0A:  # not at a line start
            pos = found + 1
            continue
        line_end = _line_end(raw, found, end)
        if part_start is not None:
            ranges.append((part_start, _before_line_break(raw, part_start, found)))
        if raw.startswith(b"--", found + len(delimiter)):  # close delimiter
            return ranges
        part_start = line_end
        pos = line_end
    if part_start is not None and (part_start < end or raw[end - 1:end] == b"\n"):
        ranges.append((part_start, end))  # unclosed; a boundary ending the data starts none
    return ranges


def _before_line_break(raw: bytes, floor: int, pos: int) -> int:
    """`pos` moved back over the CRLF (or LF) that ends the line before it."""
    if pos > floor and raw[pos - 1] == 0x0A:
        pos -= 1
        if pos > floor and raw[pos - 1] == 0x0D:
            pos -= 1
    return pos
