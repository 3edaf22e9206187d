# Reading capture files: classic pcap (either byte order, micro- or nanosecond stamps)
# and pcapng (SHB, IDB, EPB, SPB; several interfaces; comments kept). This module only
# splits a file into link-layer records; packet_decode.py turns records into packets.
#
# The file is read incrementally (CHUNK bytes at a time, never the whole file), so
# memory does not grow with the file's size: `CaptureReader` yields RawPackets as it
# goes. `read_capture`/`parse_capture` collect them all, for small files and tests.
#
# Damage is reported, never crashed on: a malformed header or block raises PcapError
# naming the byte offset (and packet number); a file that simply stops in the middle of
# its last packet keeps every complete packet and records a problem note instead.
from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, NamedTuple

from labctl.analysis.pcapng_blocks import (  # the writer's codes are re-exported
    OPT_COMMENT,
    OPT_IF_TSRESOL,
    PCAPNG_BYTE_ORDER_MAGIC,
    PCAPNG_EPB,
    PCAPNG_IDB,
    PCAPNG_SHB,
    PCAPNG_SPB,
    Interface,
    PcapError,
    comments_of,
    interface_of,
    options_of,
    section_byte_order,
)

PCAP_MAGIC_MICRO = 0xA1B2C3D4
PCAP_MAGIC_NANO = 0xA1B23C4D
__all__ = ["OPT_COMMENT", "OPT_IF_TSRESOL", "PCAPNG_BYTE_ORDER_MAGIC", "PCAPNG_EPB",
           "PCAPNG_IDB", "PCAPNG_SHB", "PCAPNG_SPB", "PCAP_MAGIC_MICRO", "PCAP_MAGIC_NANO",
           "CaptureFile", "CaptureReader", "FrameView", "PcapError", "RawPacket", "open_capture",
           "parse_capture", "read_capture"]
_TRUNCATED: FrameView = (0, 0, 0.0, 0, b"", 0, 0, 0)  # marks a file that ends inside a block
MAX_RECORD = 16 * 1024 * 1024  # larger than any real snap length: the header is garbage
CHUNK = 1 << 20


# (number, offset, timestamp, linktype, buffer, begin, stop, original length): a record
# whose frame is buffer[begin:stop], read without copying it out of the reader's buffer
FrameView = tuple[int, int, float, int, bytes, int, int, int]


class RawPacket(NamedTuple):
    """One captured link-layer frame as stored in the file."""

    number: int  # 1-based, in file order
    offset: int  # byte offset of the packet's record/block in the file
    timestamp: float
    linktype: int
    data: bytes
    original_length: int


@dataclass
class CaptureFile:
    """Every packet of a capture file plus what the file says about itself."""

    format: str  # "pcap" | "pcapng"
    packets: list[RawPacket] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)  # section and packet comments
    problems: list[str] = field(default_factory=list)


class CaptureReader:
    """Iterates over the records of an open capture file, reading it chunk by chunk.

    `format`, `comments` and `problems` fill in as the records are read; they are
    complete once the iteration ends."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._buffer = b""
        self._start = 0  # file offset of self._buffer[0]
        self.comments: list[str] = []
        self.problems: list[str] = []
        self.packets_read = 0
        head = self._fill(0, 24)
        if len(head) < 4:
            raise PcapError(f"not a capture file: only {len(head)} bytes (offset 0)")
        self.format = "pcapng" if struct.unpack_from("<I", head)[0] == PCAPNG_SHB else "pcap"
        if self.format == "pcap":
            self._classic_header(head)

    def _classic_header(self, data: bytes) -> None:
        magic_le = struct.unpack_from("<I", data)[0]
        magic_be = struct.unpack_from(">I", data)[0]
        if magic_le in (PCAP_MAGIC_MICRO, PCAP_MAGIC_NANO):
            order, magic = "<", magic_le
        elif magic_be in (PCAP_MAGIC_MICRO, PCAP_MAGIC_NANO):
            order, magic = ">", magic_be
        else:
            raise PcapError(f"not a pcap or pcapng file: unknown magic 0x{magic_le:08x} "
                            "at offset 0")
        if len(data) < 24:
            raise PcapError(f"pcap global header truncated: {len(data)} of 24 bytes (offset 0)")
        self._order = order
        self.linktype = struct.unpack_from(order + "I", data, 20)[0] & 0x0FFFFFFF
        self._divisor = 1e9 if magic == PCAP_MAGIC_NANO else 1e6

    def _fill(self, offset: int, size: int) -> bytes:
        """The buffer, holding at least `size` bytes from file offset `offset` if the file
        has them (older bytes are dropped)."""
        position = offset - self._start
        if position + size > len(self._buffer):
            more = self._stream.read(max(CHUNK, size))
            self._buffer = self._buffer[position:] + more
            self._start = offset
        return self._buffer

    def __iter__(self) -> Iterator[RawPacket]:
        for number, offset, timestamp, linktype, buffer, begin, stop, original in self.views():
            yield RawPacket(number, offset, timestamp, linktype, buffer[begin:stop], original)

    def views(self) -> Iterator[FrameView]:
        """Each record as a FrameView: its frame is buffer[begin:stop], not copied (the
        buffer is only valid until the next record is asked for)."""
        return self._pcapng() if self.format == "pcapng" else self._classic()

    def _classic(self) -> Iterator[FrameView]:
        linktype, divisor = self.linktype, self._divisor
        record = struct.Struct(self._order + "IIII").unpack_from
        buffer, base = self._buffer, self._start
        offset, number = 24, 0
        while True:
            position = offset - base
            if position + 16 > len(buffer):
                buffer, base = self._fill(offset, 16), self._start
                position = offset - base
                if position >= len(buffer):
                    return
                if position + 16 > len(buffer):
                    self.problems.append(
                        f"packet {number + 1} at offset {offset}: record header truncated "
                        f"({len(buffer) - position} of 16 bytes); packet ignored")
                    return
            seconds, fraction, captured, original = record(buffer, position)
            number += 1
            if captured > MAX_RECORD:
                raise PcapError(f"packet {number} at offset {offset}: corrupt record header "
                                f"(captured length {captured})")
            end = position + 16 + captured
            if end > len(buffer):
                buffer, base = self._fill(offset, 16 + captured), self._start
                position = offset - base
                end = position + 16 + captured
                if end > len(buffer):
                    self.problems.append(
                        f"packet {number} at offset {offset}: truncated "
                        f"({len(buffer) - position - 16} of {captured} bytes); analysed what "
                        "is there")
                    self.packets_read = number
                    yield (number, offset, seconds + fraction / divisor, linktype, buffer,
                           position + 16, len(buffer), original)
                    return
            self.packets_read = number
            yield (number, offset, seconds + fraction / divisor, linktype, buffer,
                   position + 16, end, original)
            offset += 16 + captured

    def _pcapng(self) -> Iterator[FrameView]:
        order = "<"
        header, enhanced = struct.Struct("<II").unpack_from, struct.Struct("<IIIII").unpack_from
        interfaces: list[Interface] = []
        offset, number = 0, 0
        while True:
            data = self._fill(offset, 12)
            position = offset - self._start
            if position >= len(data):
                return
            if position + 12 > len(data):
                self.problems.append(f"block at offset {offset}: truncated header "
                                     f"({len(data) - position} bytes); ignored")
                return
            block_type, length = header(data, position)
            if block_type == PCAPNG_SHB:  # the same bytes in either order
                order = section_byte_order(data, position, offset)
                header = struct.Struct(order + "II").unpack_from
                enhanced = struct.Struct(order + "IIIII").unpack_from
                block_type, length = header(data, position)
                interfaces = []
            if length < 12 or length % 4 or length > MAX_RECORD:
                raise PcapError(f"pcapng block at offset {offset}: corrupt block length {length}")
            if position + length > len(data):
                data = self._fill(offset, length)
                position = offset - self._start
            if block_type == PCAPNG_EPB and length >= 32 and position + length <= len(data):
                interface, high, low, captured, original = enhanced(data, position + 8)
                if interface < len(interfaces) and length == 32 + (captured + 3) // 4 * 4:
                    number += 1  # the common case: an enhanced packet block without options
                    self.packets_read = number
                    described = interfaces[interface]
                    yield (number, offset, ((high << 32) | low) / described.units_per_second,
                           described.linktype, data, position + 28, position + 28 + captured,
                           original)
                    offset += length
                    continue
            packet = self._other_block(data, position, offset, block_type, length, order,
                                       interfaces, number)
            if packet is _TRUNCATED:
                return
            if packet is not None:
                number += 1
                yield packet
            offset += length

    def _other_block(self, data: bytes, position: int, offset: int, block_type: int,
                     length: int, order: str, interfaces: list[Interface],
                     number: int) -> FrameView | None:
        """Any block but an enhanced packet block without options (read by _pcapng): the
        packet it holds, if any; _TRUNCATED when the file ends inside it."""
        if position + length > len(data):
            if block_type in (PCAPNG_EPB, PCAPNG_SPB):
                self.problems.append(
                    f"packet {number + 1} at offset {offset}: truncated "
                    f"({len(data) - position} of {length} bytes); packet ignored")
                return _TRUNCATED
            raise PcapError(f"pcapng block at offset {offset} (type {block_type}) "
                            f"truncated: {len(data) - position} of {length} bytes")
        body = data[position + 8 : position + length - 4]
        if block_type == PCAPNG_SHB:
            self.comments += comments_of(options_of(body[16:], order, offset))
        elif block_type == PCAPNG_IDB:
            interfaces.append(interface_of(body, order, offset))
        elif block_type in (PCAPNG_EPB, PCAPNG_SPB):
            packet, comments = _packet_block(block_type, body, order, offset, number + 1,
                                             interfaces)
            self.comments += [f"packet {number + 1}: {text}" for text in comments]
            self.packets_read = number + 1
            return packet
        return None


def open_capture(path: str | Path) -> tuple[BinaryIO, CaptureReader]:
    """Open `path` and start reading it; PcapError (naming the file) when that fails."""
    try:
        stream = open(path, "rb")  # noqa: SIM115 - the caller closes it
    except OSError as error:
        raise PcapError(f"cannot read capture {path}: {error.strerror or error}") from error
    try:
        return stream, CaptureReader(stream)
    except PcapError as error:
        stream.close()
        raise PcapError(f"{path}: {error}") from None


def read_capture(path: str | Path) -> CaptureFile:
    """Read a whole pcap or pcapng file; PcapError when it is not a readable capture."""
    stream, reader = open_capture(path)
    with stream:
        try:
            return _collect(reader)
        except PcapError as error:
            raise PcapError(f"{path}: {error}") from None


def parse_capture(data: bytes) -> CaptureFile:
    """Parse the bytes of a pcap or pcapng file."""
    return _collect(CaptureReader(io.BytesIO(data)))


def _collect(reader: CaptureReader) -> CaptureFile:
    packets = list(reader)
    return CaptureFile(reader.format, packets, reader.comments, reader.problems)


def _packet_block(block_type: int, body: bytes, order: str, offset: int, number: int,
                  interfaces: list[Interface]) -> tuple[FrameView, list[str]]:
    where = f"packet {number} at offset {offset}"
    if block_type == PCAPNG_SPB:
        if not interfaces or len(body) < 4:
            raise PcapError(f"{where}: simple packet block without interface or length")
        original = struct.unpack_from(order + "I", body)[0]
        interface = interfaces[0]
        captured = min(original, interface.snaplen or original, len(body) - 4)
        return (number, offset, 0.0, interface.linktype, body, 4, 4 + captured, original), []
    if len(body) < 20:
        raise PcapError(f"{where}: enhanced packet block too short ({len(body)} bytes)")
    interface_id, high, low, captured, original = struct.unpack_from(order + "IIIII", body)
    if interface_id >= len(interfaces):
        raise PcapError(f"{where}: refers to undeclared interface {interface_id}")
    if 20 + captured > len(body):
        raise PcapError(f"{where}: captured length {captured} overruns its block")
    interface = interfaces[interface_id]
    timestamp = ((high << 32) | low) / interface.units_per_second
    rest = 20 + (captured + 3) // 4 * 4
    comments = comments_of(options_of(body[rest:], order, offset)) if rest < len(body) else []
    return (number, offset, timestamp, interface.linktype, body, 20, 20 + captured,
            original), comments
