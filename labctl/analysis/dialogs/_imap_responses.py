# The server side of a captured IMAP conversation: its bytes cut into whole responses.
#
# The server machine (labctl.protocols.imap_server) reads the client's side; nothing in
# maillab reads IMAP responses, so this module frames them the way the grammar frames
# commands: a line, and when it ends with a literal announcement {n} (imap_tokens'
# announced_literal), n octets and the rest of the response (RFC 3501 section 4.3).
# `* 1 FETCH (BODY[] {1234}CRLF<1234 octets>)CRLF` is one response. Each response is
# then read as a continuation request (`+ ...`), an untagged response (`* 3 EXISTS`:
# label EXISTS; `* OK [...]`: label OK) or a tagged status (`A1 OK [READ-WRITE] ...`).
# A literal that follows a FETCH data item name (BODY[1]<0>, RFC822, BINARY[2]) is
# content the lecture shows as a payload; any other literal (a mailbox name, an
# ENVELOPE string) stays in the response's text.
from __future__ import annotations

import re
from dataclasses import dataclass

from labctl.protocols.imap_tokens import announced_literal

CONTINUATION_REQUEST, UNTAGGED, TAGGED = "+", "*", "tagged"
STATUSES = frozenset({"OK", "NO", "BAD", "PREAUTH", "BYE"})
_UNTAGGED = re.compile(r"\* (?:[0-9]+ )?([A-Za-z][A-Za-z0-9.-]*)")
_TAGGED = re.compile(r"([^ (){%*\"\\\x00-\x1f\x7f+]+) ([A-Za-z]+)(?: |$)")
_CODE = re.compile(r"\[([^\]]*)\] ?")
_ITEM_BEFORE_LITERAL = re.compile(
    rb"([A-Za-z0-9.]+(?:\[[^\]]*\])?(?:<[0-9]+>)?) \{[0-9]+\}\r?\n\Z")


@dataclass(frozen=True)
class ServerResponse:
    """One complete response, literals included, read as far as its kind."""

    kind: str  # CONTINUATION_REQUEST | UNTAGGED | TAGGED, or "" when it is none of them
    label: str  # "+", "EXISTS", "FETCH", "OK"...
    tag: str  # TAGGED only
    status: str  # OK NO BAD PREAUTH BYE for status responses, else ""
    code: str  # the response code without brackets ("READ-WRITE"), else ""
    text: str  # the response as sent, line endings and payload literals left out
    payloads: tuple[tuple[str, bytes], ...]  # (FETCH item, octets) of payload literals
    offset: int  # of its first octet in the server's stream


def read_response(raw: bytes, literals: list[tuple[int, int]], offset: int) -> ServerResponse:
    """Read one framed response; `literals` are (start, end) of its literal octets."""
    pieces: list[str] = []
    payloads: list[tuple[str, bytes]] = []
    position = 0
    for start, end in literals:
        head = raw[position:start]
        item = _ITEM_BEFORE_LITERAL.search(head)
        pieces.append(_text(head))
        if item is not None:
            payloads.append((item.group(1).decode("ascii").upper(), raw[start:end]))
        else:
            pieces.append(_text(raw[start:end]))
        position = end
    pieces.append(_text(raw[position:]))
    text = "".join(pieces).rstrip("\n")
    first = text.split("\n", 1)[0]
    status = code = tag = kind = label = ""
    after = 0  # where the text after the status starts
    if first == "+" or first.startswith("+ "):
        kind, label = CONTINUATION_REQUEST, "+"
    elif (untagged := _UNTAGGED.match(first)) is not None:
        kind, label, after = UNTAGGED, untagged.group(1).upper(), untagged.end() + 1
        status = label if label in STATUSES else ""
    elif (tagged := _TAGGED.match(first)) is not None and tagged.group(2).upper() in STATUSES:
        kind, tag, label, after = TAGGED, tagged.group(1), tagged.group(2).upper(), tagged.end()
        status = label
    if status and (found := _CODE.match(first, after)) is not None:
        code = found.group(1)
    return ServerResponse(kind, label, tag, status, code, text, tuple(payloads), offset)


def _text(data: bytes) -> str:
    return data.replace(b"\r\n", b"\n").decode("utf-8", "backslashreplace")


class ResponseFramer:
    """Server bytes in, whole responses out (see the module comment)."""

    def __init__(self) -> None:
        self._data = bytearray()
        self._consumed = 0  # stream offset of self._data[0]
        self._scan = 0  # where the current response's next line starts, in self._data
        self._literals: list[tuple[int, int]] = []

    def feed(self, data: bytes) -> None:
        """Append server bytes in capture order."""
        self._data += data

    def next_response(self) -> ServerResponse | None:
        """The next complete response, or None until more bytes arrive."""
        while True:
            end = self._data.find(b"\n", self._scan)
            if end < 0:
                return None
            line = bytes(self._data[self._scan:end + 1])
            announced = announced_literal(line)
            if announced is None:
                raw = bytes(self._data[:end + 1])
                response = read_response(raw, self._literals, self._consumed)
                del self._data[:end + 1]
                self._consumed += end + 1
                self._scan, self._literals = 0, []
                return response
            start = end + 1
            if len(self._data) < start + announced[0]:
                return None
            self._literals.append((start, start + announced[0]))
            self._scan = start + announced[0]

    @property
    def offset(self) -> int:
        """Stream offset of the first octet not yet handed out in a response."""
        return self._consumed

    def leftover(self) -> str | None:
        """What is missing from the last response when the stream ended, or None."""
        if not self._data:
            return None
        line = bytes(self._data[self._scan:])
        announced = announced_literal(line[:line.find(b"\n") + 1]) if b"\n" in line else None
        if announced is not None:
            received = len(line) - line.find(b"\n") - 1
            return (f"the last response announces a literal of {announced[0]} octets;"
                    f" {received} arrived")
        return f"the last response ({len(self._data)} octets) has no line ending"
