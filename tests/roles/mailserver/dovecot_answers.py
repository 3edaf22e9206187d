# The fixture messages of tests/data/messages and what Dovecot answered for them.
#
# dovecot-answers.json holds Dovecot's FETCH and SEARCH responses byte for byte (see
# tests/data/messages/README.md); read_values() parses IMAP response bytes into Python
# values so an answer can be compared with ours whatever quoting each side chose.
from __future__ import annotations

import datetime
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labctl.protocols.imap_query import FetchItem, Section
from roles.mailserver.imap_fetch import MessageFacts
from roles.mailserver.maildir_layout import from_disk, to_disk

MESSAGES = Path(__file__).parents[2] / "data" / "messages"
ANSWERS: dict[str, Any] = json.loads((MESSAGES / "dovecot-answers.json").read_text("utf-8"))
_ITEM = re.compile(r"(BODY(?:\.PEEK)?)\[([^\]]*)\](?:<(\d+)\.(\d+)>)?")
_TOKEN = re.compile(rb'\s*(?:(\()|(\))|\{(\d+)\}\r\n|"((?:[^"\\]|\\.)*)"|([^\s()"{]+))')


@dataclass(frozen=True)
class Fixture:
    """One fixture message, its facts as Dovecot had them, and Dovecot's answers."""

    name: str
    sequence: int
    facts: MessageFacts
    fetches: dict[str, str]

    @property
    def recent(self) -> bool:
        return "\\Recent" in self.facts.flags


def fixtures() -> list[Fixture]:
    """Every recorded fixture message, in sequence order."""
    result = []
    for sequence, name in enumerate(ANSWERS["messages"], 1):
        fetches = ANSWERS["fetches"][name]
        flags = read_values(fetches["FLAGS"].encode("latin-1"))[1]
        date_text = read_values(fetches["INTERNALDATE"].encode("latin-1"))[1].decode()
        moment = datetime.datetime.strptime(date_text, "%d-%b-%Y %H:%M:%S %z")
        raw = from_disk(to_disk((MESSAGES / name).read_bytes()))  # as the store hands it out
        facts = MessageFacts(uid=sequence, flags=tuple(flags), internal_date=moment, raw=raw)
        result.append(Fixture(name, sequence, facts, fetches))
    return result


def fetch_item(spec: str) -> FetchItem:
    """The FetchItem a FETCH item text (`BODY.PEEK[1.HEADER.FIELDS (A B)]<0.10>`) names."""
    match = _ITEM.fullmatch(spec)
    if match is None:
        return FetchItem(spec)
    command, inside, start, count = match.groups()
    numbers: list[int] = []
    rest = inside
    while (number := re.match(r"(\d+)\.?", rest)) is not None:
        numbers.append(int(number.group(1)))
        rest = rest[number.end():]
    text, _, fields = rest.partition(" (")
    # Dovecot echoes field names upper-cased: so does the parser that makes Sections
    names = tuple(name.upper() for name in fields.rstrip(")").split())
    section = Section(tuple(numbers), text or None, names)
    partial = (int(start), int(count)) if start is not None else None
    return FetchItem("BODY", section, command.endswith("PEEK"), partial)


def read_values(data: bytes) -> list[Any]:
    """IMAP response bytes as values: lists, None, ints, bytes (strings) and str (atoms)."""
    stack: list[list[Any]] = [[]]
    pos = 0
    while pos < len(data):
        match = _TOKEN.match(data, pos)
        if match is None:
            if data[pos:].strip():
                raise ValueError(f"cannot read {data[pos:pos + 20]!r}")
            break
        pos = match.end()
        opener, closer, size, quoted, atom = match.groups()
        if opener:
            stack.append([])
        elif closer:
            done = stack.pop()
            stack[-1].append(done)
        elif size is not None:
            stack[-1].append(data[pos:pos + int(size)])
            pos += int(size)
        elif quoted is not None:
            stack[-1].append(re.sub(rb"\\(.)", rb"\1", quoted))
        else:
            text = atom.decode()
            stack[-1].append(None if text == "NIL" else int(text) if text.isdigit() else text)
    return stack[0]
