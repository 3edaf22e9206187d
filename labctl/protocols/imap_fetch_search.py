# The two rich argument grammars of IMAP: FETCH data items and SEARCH programs.
#
# Both read from a Reader (imap_tokens.py) into the data types of imap_query.py that
# the FETCH/SEARCH evaluation consumes: FETCH macros (ALL, FAST, FULL) are expanded,
# BODY[section]<start.count> and BODY.PEEK are split into Section, peek and partial;
# a SEARCH program becomes a SearchKey tree whose root is AND (OR, NOT and
# parenthesised groups are nodes, a bare sequence set is a SEQUENCE node).
from __future__ import annotations

import datetime
import re

from labctl.protocols.imap_query import (
    HEADER,
    HEADER_FIELDS,
    HEADER_FIELDS_NOT,
    MIME,
    SEARCH_KEYS,
    TEXT,
    FetchItem,
    SearchArgument,
    SearchKey,
    Section,
)
from labctl.protocols.imap_tokens import CommandSyntaxError, Reader

SIMPLE_FETCH_ITEMS = frozenset({
    "FLAGS", "UID", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY", "BODYSTRUCTURE",
    "RFC822", "RFC822.HEADER", "RFC822.TEXT"})
FETCH_MACROS: dict[str, tuple[str, ...]] = {
    "ALL": ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"),
    "FAST": ("FLAGS", "INTERNALDATE", "RFC822.SIZE"),
    "FULL": ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"),
}
SEARCH_CHARSETS = frozenset({"UTF-8", "US-ASCII"})
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DATE = re.compile(rb"([0-9]{1,2})-([A-Za-z]{3})-([0-9]{4})")
_PART = re.compile(rb"([1-9][0-9]{0,8})(?![0-9])")
_MACRO = re.compile(rb"(ALL|FAST|FULL)(?![^ ])", re.IGNORECASE)
_SEQUENCE_START = re.compile(rb"[0-9*]")
_ITEM_NAME = re.compile(rb"[A-Za-z0-9.]+")
_SECTION_TEXTS = (HEADER_FIELDS_NOT, HEADER_FIELDS, HEADER, TEXT, MIME)  # longest first


def fetch_items(reader: Reader) -> tuple[FetchItem, ...]:
    """`ALL` / `FAST` / `FULL`, one item, or a parenthesised list of items."""
    macro = _MACRO.match(reader.data, reader.pos)
    if macro is not None:
        reader.pos = macro.end()
        return tuple(FetchItem(name) for name in FETCH_MACROS[macro.group(1).upper().decode()])
    if not reader.peek(b"("):
        return (fetch_item(reader),)
    reader.open_list("(")
    items = [fetch_item(reader)]
    while not reader.close_list():
        reader.list_space()
        items.append(fetch_item(reader))
    return tuple(items)


def fetch_item(reader: Reader) -> FetchItem:
    """One FETCH data item: FLAGS, BODY[1.HEADER]<0.100>, BODY.PEEK[TEXT], ..."""
    start = reader.pos
    name = reader.match(_ITEM_NAME, "a FETCH data item").decode("ascii").upper()
    if name in ("BODY", "BODY.PEEK") and reader.peek(b"["):
        section = _section(reader)
        partial = None
        if reader.skip(b"<"):
            first = reader.number("a partial start")
            reader.expect(b".", "'.' in <start.count>")
            count = reader.number("a partial count")
            if count == 0:
                raise reader.error("a non-zero partial count")
            reader.expect(b">", "'>' closing <start.count>")
            partial = (first, count)
        return FetchItem("BODY", section, name == "BODY.PEEK", partial)
    if name not in SIMPLE_FETCH_ITEMS:
        raise CommandSyntaxError(f"unknown FETCH data item {name!r} at offset {start}")
    return FetchItem(name)


def _section(reader: Reader) -> Section:
    reader.expect(b"[", "[")
    part: list[int] = []
    while (found := _PART.match(reader.data, reader.pos)) is not None:
        reader.pos = found.end()
        part.append(int(found.group(1)))
        if not reader.skip(b"."):
            break
    text = next((t for t in _SECTION_TEXTS if reader.skip(t.encode())), None)
    if text is None and part and reader.data[reader.pos - 1:reader.pos] == b".":
        raise reader.error("HEADER, HEADER.FIELDS, TEXT or MIME after the part number")
    if text == MIME and not part:
        raise reader.error("a part number before MIME")
    fields: tuple[str, ...] = ()
    if text in (HEADER_FIELDS, HEADER_FIELDS_NOT):
        reader.space()
        reader.open_list("( before the header field names")
        names = [reader.astring("a header field name")]
        while not reader.close_list():
            reader.list_space()
            names.append(reader.astring("a header field name"))
        fields = tuple(names)
    reader.expect(b"]", "] closing the section")
    return Section(tuple(part), text, fields)


def search_program(reader: Reader) -> tuple[str | None, SearchKey]:
    """[CHARSET name SP] search-key *(SP search-key): the charset and the AND of the keys."""
    charset = None
    if reader.skip(b"CHARSET "):
        charset = reader.astring("a charset").upper()
        if charset not in SEARCH_CHARSETS:
            raise CommandSyntaxError(f"charset {charset} is not supported", "NO",
                                     "BADCHARSET (" + " ".join(sorted(SEARCH_CHARSETS)) + ")")
        reader.space()
    keys = [search_key(reader)]
    while not reader.at_end():
        reader.space()
        keys.append(search_key(reader))
    return charset, SearchKey("AND", operands=tuple(keys))


def search_key(reader: Reader) -> SearchKey:
    """One search key, a parenthesised group, or a bare sequence set."""
    if reader.peek(b"("):
        reader.open_list("(")
        keys = [search_key(reader)]
        while not reader.close_list():
            reader.list_space()
            keys.append(search_key(reader))
        return SearchKey("AND", operands=tuple(keys))
    if _SEQUENCE_START.match(reader.data, reader.pos):
        return SearchKey("SEQUENCE", (reader.sequence_set(),))
    start = reader.pos
    name = reader.atom("a search key").upper()
    if name not in SEARCH_KEYS:
        raise CommandSyntaxError(f"unknown search key {name!r} at offset {start}")
    arguments: list[SearchArgument] = []
    operands: list[SearchKey] = []
    for kind in SEARCH_KEYS[name]:
        reader.space()
        if kind == "key":
            reader.enter()
            operands.append(search_key(reader))
            reader.leave()
        elif kind == "string":
            arguments.append(reader.astring(f"a string after {name}"))
        elif kind == "number":
            arguments.append(reader.number(f"a number after {name}"))
        elif kind == "date":
            arguments.append(search_date(reader))
        elif kind == "flag":
            arguments.append(reader.atom(f"a keyword after {name}"))
        else:
            arguments.append(reader.sequence_set())
    return SearchKey(name, tuple(arguments), tuple(operands))


def search_date(reader: Reader) -> datetime.date:
    """date = date-text / DQUOTE date-text DQUOTE, date-text = d[d]-Mon-yyyy."""
    start = reader.pos
    quoted = reader.skip(b'"')
    found = _DATE.match(reader.data, reader.pos)
    if found is None or found.group(2).upper().decode() not in MONTHS:
        raise reader.error("a date such as 1-Feb-2026")
    reader.pos = found.end()
    if quoted:
        reader.expect(b'"', "a closing quote after the date")
    day, month, year = found.groups()
    try:
        return datetime.date(int(year), MONTHS.index(month.upper().decode()) + 1, int(day))
    except ValueError as exc:
        raise CommandSyntaxError(f"impossible date at offset {start}: {exc}") from exc
