# Writing capture files: classic pcap and pcapng (one section, one interface, an
# optional section comment and per-packet comments). Both writers take frames of one
# link type; packet_build.py makes Ethernet frames for them. The recording relay writes
# pcapng so that its section comment can say the file was synthesized, not captured.
# A writer may be given a size limit: the first packet that would pass it, and every
# later one, is counted instead of written, so the file ends on a whole packet.
# The format's constants are read from pcap_reader and packet_decode (one place).
from __future__ import annotations

import struct
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Self

from labctl.analysis.packet_decode import LINKTYPE_ETHERNET
from labctl.analysis.pcap_reader import (
    OPT_COMMENT,
    OPT_IF_TSRESOL,
    PCAP_MAGIC_MICRO,
    PCAP_MAGIC_NANO,
    PCAPNG_BYTE_ORDER_MAGIC,
    PCAPNG_EPB,
    PCAPNG_IDB,
    PCAPNG_SHB,
)

SNAPLEN = 262144


class _FileWriter:
    """Shared plumbing: own or borrowed binary stream, context manager, close."""

    def __init__(self, target: str | Path | BinaryIO, limit: int | None = None) -> None:
        if isinstance(target, str | Path):
            self._stream: BinaryIO = open(target, "wb")  # noqa: SIM115 - closed in close()
            self._owns_stream = True
        else:
            self._stream, self._owns_stream = target, False
        self.limit = limit  # bytes the file may hold (None: no limit)
        self.packets_written = 0
        self.packets_over_limit = 0
        self.bytes_written = 0

    def _write(self, data: bytes) -> None:
        self._stream.write(data)
        self._stream.flush()
        self.bytes_written += len(data)

    def _write_record(self, record: bytes) -> None:
        """Append one packet's record, or count it once the size limit is reached."""
        over = self.limit is not None and self.bytes_written + len(record) > self.limit
        if over or self.packets_over_limit:
            self.packets_over_limit += 1
            return
        self._write(record)
        self.packets_written += 1

    def close(self) -> None:
        """Flush, and close the file when this writer opened it."""
        self._stream.flush()
        if self._owns_stream:
            self._stream.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class PcapWriter(_FileWriter):
    """Classic pcap: little or big endian, micro- or nanosecond timestamps."""

    def __init__(
        self, target: str | Path | BinaryIO, linktype: int = LINKTYPE_ETHERNET,
        big_endian: bool = False, nanoseconds: bool = False, limit: int | None = None,
    ) -> None:
        super().__init__(target, limit)
        self._order = ">" if big_endian else "<"
        self._units = 10**9 if nanoseconds else 10**6
        magic = PCAP_MAGIC_NANO if nanoseconds else PCAP_MAGIC_MICRO
        self._write(struct.pack(self._order + "IHHiIII", magic, 2, 4, 0, 0, SNAPLEN, linktype))

    def write_packet(self, timestamp: float, frame: bytes, original_length: int = 0) -> None:
        """Append one frame (`original_length` > len(frame) marks it as snapped)."""
        ticks = round(timestamp * self._units)
        seconds, fraction = divmod(ticks, self._units)
        header = struct.pack(self._order + "IIII", seconds, fraction, len(frame),
                             max(original_length, len(frame)))
        self._write_record(header + frame)


def _option(code: int, value: bytes) -> bytes:
    return struct.pack("<HH", code, len(value)) + value + b"\0" * (-len(value) % 4)


def _block(block_type: int, body: bytes) -> bytes:
    length = 12 + len(body)
    return struct.pack("<II", block_type, length) + body + struct.pack("<I", length)


def _with_end(options: bytes) -> bytes:
    return options + _option(0, b"") if options else b""


class PcapngWriter(_FileWriter):
    """pcapng (little endian, microsecond stamps) with an optional section comment."""

    def __init__(
        self, target: str | Path | BinaryIO, comment: str | None = None,
        linktype: int = LINKTYPE_ETHERNET, limit: int | None = None,
    ) -> None:
        super().__init__(target, limit)
        options = _option(OPT_COMMENT, comment.encode()) if comment else b""
        section = struct.pack("<IHHq", PCAPNG_BYTE_ORDER_MAGIC, 1, 0, -1) + _with_end(options)
        interface = struct.pack("<HHI", linktype, 0, SNAPLEN) + _with_end(
            _option(OPT_IF_TSRESOL, bytes([6]))
        )
        self._write(_block(PCAPNG_SHB, section) + _block(PCAPNG_IDB, interface))

    def write_packet(self, timestamp: float, frame: bytes, comment: str | None = None) -> None:
        """Append one frame as an enhanced packet block, optionally with a comment."""
        ticks = round(timestamp * 10**6)
        options = _with_end(_option(OPT_COMMENT, comment.encode()) if comment else b"")
        body = struct.pack("<IIIII", 0, ticks >> 32, ticks & 0xFFFFFFFF, len(frame), len(frame))
        body += frame + b"\0" * (-len(frame) % 4) + options
        self._write_record(_block(PCAPNG_EPB, body))
