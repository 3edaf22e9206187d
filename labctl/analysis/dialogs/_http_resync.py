# Where the HTTP observer (http.py) may read on after bytes h11 refused.
#
# HTTP/1.x has no marker to find the next message by. After unreadable bytes the
# observer is only sure that both sides are between messages at the client's first
# request line after them, and only if the server had answered the unreadable bytes
# before that line was captured: the server's bytes up to then answer what was lost,
# the ones after answer the new request. LostBytes follows both sides from the loss:
# it counts the server's octets, keeps only the client's last unfinished line (the lines
# before it hold no request line, so memory stays bounded by one line), and hands out
# the request line once it is complete, saying whether reading on from it is safe.
from __future__ import annotations

import re
from dataclasses import dataclass, field

from labctl.analysis.dialogs.streams import OffsetClock

REQUEST_LINE = re.compile(rb"(?:^|(?<=\n))[!#$%&'*+.^_`|~0-9A-Za-z-]+ [!-~]+ HTTP/1\.[01]\r?\n")


@dataclass
class LostBytes:
    """Both sides of an HTTP conversation after unreadable bytes (see the module comment)."""

    start: int  # client offset of the first octet not read
    server_offset: int  # server offset of the first octet not read
    answered: int | None  # client offset reached when the server spoke after the loss
    server_octets: int = 0  # the server's octets not read
    line_offset: int = -1  # client offset of `line`; -1: `start`
    line: bytearray = field(default_factory=bytearray)  # the client's last line

    def server_bytes(self, size: int, client_received: int) -> None:
        """`size` more server octets, sent when the client had sent `client_received`."""
        self.server_octets += size
        if self.answered is None:
            self.answered = client_received

    def client_bytes(self, data: bytes) -> tuple[int, bytes] | None:
        """More client bytes; (its offset, the bytes from it) once a request line came."""
        if self.line_offset < 0:
            self.line_offset = self.start
        self.line += data
        found = REQUEST_LINE.search(self.line)
        if found is not None:
            return self.line_offset + found.start(), bytes(self.line[found.start():])
        last_line = self.line.rfind(b"\n") + 1
        del self.line[:last_line]
        self.line_offset += last_line
        return None

    def safe_at(self, offset: int) -> bool:
        """Whether the server had answered the lost bytes before the client's `offset`."""
        return self.answered is not None and offset >= self.answered

    def notes(self, client: OffsetClock, server: OffsetClock) -> list[str]:
        """What the capture holds after the loss, never read (no request line came)."""
        notes = []
        if client.received > self.start:
            notes.append(f"{client.where(self.start)}: {client.received - self.start}"
                         " octets not read")
        if self.server_octets:
            notes.append(f"{server.where(self.server_offset)}: {self.server_octets} octets"
                         " answering no request read")
        return notes
