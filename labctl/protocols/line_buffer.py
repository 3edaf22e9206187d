# Bytes received but not yet parsed, handed out one line at a time.
#
# Shared by the SMTP and POP3 state machines. A line that grows past its limit
# without a terminator is reported once as OVERLONG and the rest of it is discarded
# up to the next terminator, so a peer can never make the buffer grow without bound.
from __future__ import annotations

from enum import Enum

from labctl.protocols.smtp_grammar import end_of_data


class Overlong(Enum):
    """Marker returned instead of a line that exceeded its length limit."""

    OVERLONG = "OVERLONG"


OVERLONG = Overlong.OVERLONG


class LineBuffer:
    """Accumulates received bytes and splits them into lines."""

    def __init__(self) -> None:
        self._data = bytearray()
        self._discarding = False
        self.closed = False  # the peer closed its side (receive_data(b""))

    def feed(self, data: bytes) -> None:
        """Append received bytes; an empty chunk means the peer closed (later bytes are dropped)."""
        if not data:
            self.closed = True
        if not self.closed:
            self._data += data

    def discard(self) -> bytes:
        """Throw away every buffered byte (and any line being skipped); return what was there."""
        data, self._data, self._discarding = bytes(self._data), bytearray(), False
        return data

    def __len__(self) -> int:
        return len(self._data)

    def pop_dot_text(self, at_line_start: bool = True) -> tuple[bytes, bool]:
        """Dot-stuffed text (SMTP DATA) up to its lone "." line, which is consumed: (text,
        True); without that line yet, the complete CRLF-ended lines buffered: (lines, False).
        """
        end = end_of_data(self._data, 0, at_line_start)
        if end >= 0:
            text = bytes(self._data[:end])
            del self._data[:end + 3]
            return text, True
        last = self._data.rfind(b"\r\n")
        if last < 0:
            return b"", False
        text = bytes(self._data[:last + 2])
        del self._data[:last + 2]
        return text, False

    def pop_bytes(self, count: int) -> bytes:
        """Up to `count` buffered bytes as they are, no line splitting (an SMTP BDAT chunk)."""
        data = bytes(self._data[:count])
        del self._data[:count]
        return data

    def pop_line(self, max_length: int, crlf_only: bool = False) -> bytes | Overlong | None:
        """The next complete line with its ending, OVERLONG, or None when incomplete."""
        terminator = b"\r\n" if crlf_only else b"\n"
        while True:
            end = self._data.find(terminator)
            if end < 0:
                if len(self._data) <= max_length:
                    return None
                keep = 1 if self._data.endswith(b"\r") else 0  # may start a split CRLF
                del self._data[: len(self._data) - keep]
                if self._discarding:
                    return None
                self._discarding = True
                return OVERLONG
            line = bytes(self._data[: end + len(terminator)])
            del self._data[: end + len(terminator)]
            if self._discarding:  # the tail of an over-long line: drop it
                self._discarding = False
                continue
            return line
