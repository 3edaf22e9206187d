# Where a byte of a conversation was seen: per direction, stream offsets to capture times.
#
# An observer feeds each side's bytes in capture order and asks, for a command or a reply
# starting at some offset of that side's stream, when its first byte was captured (the
# Step's timestamp) and how to name that place in a problem note ("server byte 1460 at
# 1700000000.123456"). Bytes that do not parse become an UNREADABLE step plus such a note,
# so a broken conversation is reported where it broke and the observer goes on.
from __future__ import annotations

from bisect import bisect_right

from labctl.analysis.dialog import UNREADABLE, Dialog, Step

SHOWN_OCTETS = 60  # of unreadable bytes, quoted in the step's text


def side_name(from_client: bool) -> str:
    """The word for a side in notes: "client" or "server"."""
    return "client" if from_client else "server"


class Direction:
    """The bytes one side has sent so far, as offsets with their capture times."""

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
        """The capture time of the segment holding the octet at `offset`."""
        index = bisect_right(self._starts, offset) - 1
        if index < 0:
            return self._times[0] if self._times else 0.0
        return self._times[index]

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


def starts_with_tls(data: bytes) -> bool:
    """True when `data` opens with a TLS handshake record (a ClientHello, implicit TLS)."""
    return len(data) >= 3 and data[0] == 0x16 and data[1] == 0x03 and data[2] <= 0x04
