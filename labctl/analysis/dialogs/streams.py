# What every protocol observer reads a conversation with: one byte cursor per direction.
#
# OffsetClock maps one side's stream offsets to capture times as segments are fed (for
# parsers that take bytes as they come); Direction is an OffsetClock holding a whole
# side at once (for the line-based replays of SMTP and POP3).
#
# A Direction joins one side's segments into one byte string and remembers where each
# segment began, so any offset maps back to its capture time (Step.timestamp) and to its
# place in the capture order of both sides (how the analyzer tells that a client sent a
# command before the reply to the previous one had arrived). ClientFeed hands the
# client's bytes to a sans-I/O server machine one segment at a time, only when the
# machine needs more, and says which offset the machine has read up to; Recorder
# collects the steps and problem notes of the dialog being built.
from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate
from typing import Protocol

from labctl.analysis.dialog import UNREADABLE, Dialog, Step
from labctl.analysis.results import Segment

_PRINTABLE = re.compile(rb"[\x20-\x7e]*")
# A LF not preceded by CR. Written LF-first so the search skips to each LF at C speed
# (a message after 354 is searched whole): three times cheaper than counting LF and CRLF.
_BARE_LF = re.compile(rb"\n(?<!\r\n)")
SHOWN_OCTETS = 60  # of unreadable bytes, quoted in an UNREADABLE step's text


def side_name(from_client: bool) -> str:
    """The word for a side in notes: "client" or "server"."""
    return "client" if from_client else "server"


class OffsetClock:
    """When each octet of one side was captured, for a side fed a segment at a time (the
    observers whose parsers take bytes as they come: IMAP framing, h11, DNS)."""

    def __init__(self, from_client: bool) -> None:
        self.from_client = from_client
        self.received = 0  # octets fed so far
        self._starts: list[int] = []
        self._times: list[float] = []

    def add(self, size: int, timestamp: float) -> None:
        """Record that `size` more octets arrived at `timestamp`."""
        if size > 0:
            self._starts.append(self.received)
            self._times.append(timestamp)
            self.received += size

    def time_at(self, offset: int) -> float:
        """Capture time of the segment holding the byte at `offset` (0.0 for no bytes)."""
        if not self._times:
            return 0.0
        return self._times[max(bisect_right(self._starts, offset) - 1, 0)]

    def where(self, offset: int) -> str:
        """The place of `offset` in words, for a problem note."""
        return f"{side_name(self.from_client)} byte {offset} at {self.time_at(offset):.6f}"

    def unreadable(self, dialog: Dialog, offset: int, reason: str, data: bytes = b"") -> None:
        """Record bytes the protocol does not allow: an UNREADABLE step and a problem note."""
        shown = data[:SHOWN_OCTETS].decode("ascii", "backslashreplace")
        text = f"{reason}: {shown!r}" if data else reason
        dialog.steps.append(Step(self.from_client, UNREADABLE, "unreadable", text,
                                 self.time_at(offset)))
        dialog.problems.append(f"{self.where(offset)}: {reason}")


class Direction(OffsetClock):
    """The bytes one side sent, with the capture time and order of every offset."""

    def __init__(self, segments: Sequence[Segment], from_client: bool) -> None:
        super().__init__(from_client)
        mine = [(order, segment) for order, segment in enumerate(segments)
                if segment.from_client is from_client and segment.data]
        self._orders = [order for order, _ in mine]
        self._times = [segment.timestamp for _, segment in mine]
        parts = [segment.data for _, segment in mine]
        self._starts = list(accumulate(map(len, parts), initial=0))
        self.received = self._starts.pop()
        self.data = b"".join(parts)
        self.pos = 0  # the read cursor of read_line()

    def order_at(self, offset: int) -> int:
        """Position, among both sides' segments, of the one holding the byte at `offset`."""
        if not self._orders:
            return 0
        return self._orders[max(bisect_right(self._starts, offset) - 1, 0)]

    def segment_end(self, offset: int) -> int:
        """Offset just past the segment holding the byte at `offset`."""
        index = bisect_right(self._starts, offset)
        return self._starts[index] if index < len(self._starts) else len(self.data)

    def read_line(self) -> tuple[bytes, int] | None:
        """The next complete line (ending kept) and its offset, or None (no line ending)."""
        end = self.data.find(b"\n", self.pos)
        if end < 0:
            return None
        start, self.pos = self.pos, end + 1
        return self.data[start:self.pos], start

    def rest(self) -> bytes:
        """The bytes after the read cursor."""
        return self.data[self.pos:]


class Machine(Protocol):
    """What ClientFeed needs of a server state machine (smtp or pop3 ServerConnection)."""

    def receive_data(self, data: bytes) -> None: ...

    @property
    def unread(self) -> int: ...


class ClientFeed:
    """Feeds the client's bytes to a server machine a segment at a time, on demand."""

    def __init__(self, client: Direction, machine: Machine) -> None:
        self.client = client
        self.machine = machine
        self.fed = 0

    def more(self) -> bool:
        """Feed the next client segment; False when the client sent nothing more."""
        if self.fed >= len(self.client.data):
            return False
        end = self.client.segment_end(self.fed)
        self.machine.receive_data(self.client.data[self.fed:end])
        self.fed = end
        return True

    @property
    def position(self) -> int:
        """Offset of the first client byte the machine has not handed out yet."""
        return self.fed - self.machine.unread

    def rest(self) -> bytes:
        """The client bytes the machine has not handed out (fed or not)."""
        return self.client.data[self.position:]


def printable(raw: bytes) -> str:
    """Bytes as text: printable ASCII as is, tab as \\t, any other byte as \\xNN."""
    if _PRINTABLE.fullmatch(raw):
        return raw.decode("ascii")
    out: list[str] = []
    for byte in raw:
        if 0x20 <= byte < 0x7F:
            out.append(chr(byte))
        elif byte == 0x09:
            out.append("\\t")
        else:
            out.append(f"\\x{byte:02x}")
    return "".join(out)


def quoted(line: bytes) -> str:
    """A line's start, printable and in quotes, to name it in a problem note."""
    return '"' + printable(line.rstrip(b"\r\n"))[:40] + '"'


def lines_of(data: bytes) -> list[bytes]:
    """`data` cut after each LF, endings kept; a last piece without LF is kept too."""
    lines = data.split(b"\n")
    out = [line + b"\n" for line in lines[:-1]]
    return [*out, lines[-1]] if lines[-1] else out


def bare_lf(raw: bytes) -> bool:
    """True when `raw` holds a line ending that is a LF without its CR."""
    return _BARE_LF.search(raw) is not None


class Recorder:
    """The dialog being built: steps appended in protocol order, problems said once."""

    def __init__(self, protocol: str) -> None:
        self.dialog = Dialog(protocol)

    def add(self, step: Step) -> int:
        """Append `step`; its index (what a reply's `answers` points at)."""
        self.dialog.steps.append(step)
        return len(self.dialog.steps) - 1

    def problem(self, note: str) -> None:
        """Add a problem note unless the same note is already there."""
        if note not in self.dialog.problems:
            self.dialog.problems.append(note)

    def unterminated(self, direction: Direction, raw: bytes, offset: int) -> None:
        """A last line without its line ending: kept as an unreadable step, and said."""
        who = "client" if direction.from_client else "server"
        self.problem(f"{who}'s last line has no line ending: {printable(raw)[:80]}")
        self.add(Step(direction.from_client, UNREADABLE, "?", "no line ending",
                      direction.time_at(offset), data=raw))
