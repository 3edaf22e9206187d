# The size limit of a tcpdump capture. tcpdump has no "stop at N bytes" (-C rotates into
# new files, -W then overwrites the oldest), so tcpdump writes its pcap to a pipe and
# CappedPcapStream passes the stream through whole packets at a time until the limit:
# the file never exceeds the limit, ends on a packet boundary, and the packets after
# the limit are counted for the capture's note. CappedPcapStream is sans-I/O (bytes in,
# bytes to write out); copy_capped drives it over files, and this module run as a
# program is the copier process behind each tcpdump: a process of its own, so a busy
# controller never slows tcpdump down (a full pipe makes the kernel drop packets).
# The marker: tcpdump stops reading at once on SIGINT, leaving what the kernel still
# holds unread and uncounted; so before stopping, the controller sends a datagram
# holding a marker across each network and waits until the copier has seen it (and left
# it, and the ICMP error quoting it, out of the file): every earlier packet is then in.
from __future__ import annotations

import json
import struct
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import BinaryIO

from labctl.analysis.pcap_reader import PCAP_MAGIC_MICRO, PCAP_MAGIC_NANO
from labctl.capture.recorder import CaptureError

FILE_HEADER = 24
RECORD_HEADER = 16
CHUNK = 1 << 20
READY = "ready"  # the copier's first line; its last is the CapResult as JSON
MARKER_SEEN = "marker"  # a line each time a packet holding the marker went by


class CappedPcapStream:
    """Passes a classic pcap byte stream through, whole packets, until `limit` bytes."""

    def __init__(self, limit: int, marker: bytes | None = None) -> None:
        if limit < FILE_HEADER:
            raise CaptureError(f"capture size limit {limit} bytes is below a pcap header")
        self.limit = limit
        self.marker = marker  # a packet holding these bytes is counted, never written
        self.markers_seen = 0
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
            if self.marker is not None and self.marker in self._pending[position : position + size]:
                self.markers_seen += 1
            elif not self.full and self.bytes_kept + size <= self.limit:
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


@dataclass
class CapResult:
    """What a capped copy did: packets kept, packets past the limit, why it failed."""

    packets_kept: int = 0
    packets_over_limit: int = 0
    leftover: int = 0  # bytes of an unfinished last packet
    error: str | None = None


def copy_capped(source: BinaryIO, target: BinaryIO, limit: int, marker: bytes | None = None,
                on_marker: Callable[[], None] = lambda: None) -> CapResult:
    """Copy a pcap stream from `source` to `target` under `limit`; read `source` to its end."""
    capped = CappedPcapStream(limit, marker)
    result = CapResult()
    while chunk := source.read(CHUNK):
        if result.error is not None:
            continue  # keep draining, so the writer (tcpdump) is never stuck on a full pipe
        seen = capped.markers_seen
        try:
            target.write(capped.feed(chunk))
            target.flush()
        except (CaptureError, OSError) as error:
            result.error = str(error)
        if capped.markers_seen > seen:
            on_marker()
    result.packets_kept = capped.packets_kept
    result.packets_over_limit = capped.packets_over_limit
    result.leftover = capped.leftover
    return result


def main(argv: list[str]) -> int:
    """`python -m labctl.capture.size_limit PCAP LIMIT MARKER`: stdin to PCAP, lines out."""
    path, limit, marker = argv
    print(READY, flush=True)  # started and imported: the capture may begin
    with open(0, "rb", buffering=0, closefd=False) as source, open(path, "wb") as target:
        result = copy_capped(source, target, int(limit), marker.encode(),  # unbuffered reads
                             lambda: print(MARKER_SEEN, flush=True))
    print(json.dumps(asdict(result)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
