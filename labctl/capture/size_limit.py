# The size limit of a tcpdump capture. tcpdump has no "stop at N bytes" (-C rotates into
# new files, -W then overwrites the oldest), so tcpdump writes its pcap to a pipe and
# CappedPcapStream passes the stream through whole packets at a time until the limit:
# the file never exceeds the limit, ends on a packet boundary, and the packets after
# the limit are counted for the capture's note. Sans-I/O: bytes in, bytes to write out.
from __future__ import annotations

import struct

from labctl.analysis.pcap_reader import PCAP_MAGIC_MICRO, PCAP_MAGIC_NANO
from labctl.capture.recorder import CaptureError

FILE_HEADER = 24
RECORD_HEADER = 16


class CappedPcapStream:
    """Passes a classic pcap byte stream through, whole packets, until `limit` bytes."""

    def __init__(self, limit: int) -> None:
        if limit < FILE_HEADER:
            raise CaptureError(f"capture size limit {limit} bytes is below a pcap header")
        self.limit = limit
        self.bytes_kept = 0
        self.packets_kept = 0
        self.packets_over_limit = 0
        self._order: str | None = None
        self._pending = bytearray()

    @property
    def full(self) -> bool:
        """True once a packet did not fit: every later packet is left out too."""
        return self.packets_over_limit > 0

    def feed(self, data: bytes) -> bytes:
        """The part of the stream to write, given the next `data` of it."""
        self._pending += data
        kept = bytearray()
        position = 0
        if self._order is None:
            if len(self._pending) < FILE_HEADER:
                return b""
            self._order = _byte_order(bytes(self._pending[:4]))
            kept += self._pending[:FILE_HEADER]
            self.bytes_kept += FILE_HEADER
            position = FILE_HEADER
        record = struct.Struct(self._order + "I")
        while len(self._pending) - position >= RECORD_HEADER:
            size = RECORD_HEADER + record.unpack_from(self._pending, position + 8)[0]
            if len(self._pending) - position < size:
                break
            if not self.full and self.bytes_kept + size <= self.limit:
                kept += self._pending[position : position + size]
                self.bytes_kept += size
                self.packets_kept += 1
            else:
                self.packets_over_limit += 1
            position += size
        del self._pending[:position]
        return bytes(kept)

    @property
    def leftover(self) -> int:
        """Bytes of an unfinished packet at the end of the stream (0 when it ended cleanly)."""
        return len(self._pending)


def _byte_order(magic: bytes) -> str:
    for order in ("<", ">"):
        if struct.unpack(order + "I", magic)[0] in (PCAP_MAGIC_MICRO, PCAP_MAGIC_NANO):
            return order
    raise CaptureError(f"tcpdump wrote no pcap (stream starts with {magic.hex()})")
