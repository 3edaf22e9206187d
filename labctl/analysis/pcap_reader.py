# Reading capture files: classic pcap (either byte order, micro- or nanosecond stamps)
# and pcapng (SHB, IDB, EPB, SPB; comments kept). This module only splits a file into
# link-layer records; packet_decode.py turns records into TCP/IPv4 packets.
#
# Damage is reported, never crashed on: a malformed header or block raises PcapError
# naming the byte offset (and packet number); a file that simply stops in the middle of
# its last packet keeps every complete packet and records a problem note instead.
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

PCAP_MAGIC_MICRO = 0xA1B2C3D4
PCAP_MAGIC_NANO = 0xA1B23C4D
PCAPNG_SHB = 0x0A0D0D0A
PCAPNG_BYTE_ORDER_MAGIC = 0x1A2B3C4D
PCAPNG_IDB = 0x00000001
PCAPNG_SPB = 0x00000003
PCAPNG_EPB = 0x00000006
OPT_END = 0
OPT_COMMENT = 1
OPT_IF_TSRESOL = 9
MAX_RECORD = 16 * 1024 * 1024  # larger than any real snap length: the header is garbage


class PcapError(ValueError):
    """A capture file that cannot be read; the message says what and where."""


@dataclass(frozen=True)
class RawPacket:
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


def read_capture(path: str | Path) -> CaptureFile:
    """Read a pcap or pcapng file; PcapError when it is not a readable capture."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise PcapError(f"cannot read capture {path}: {error.strerror or error}") from error
    try:
        return parse_capture(data)
    except PcapError as error:
        raise PcapError(f"{path}: {error}") from None


def parse_capture(data: bytes) -> CaptureFile:
    """Parse the bytes of a pcap or pcapng file."""
    if len(data) < 4:
        raise PcapError(f"not a capture file: only {len(data)} bytes (offset 0)")
    if struct.unpack_from("<I", data)[0] == PCAPNG_SHB:
        return _parse_pcapng(data)
    return _parse_classic(data)


def _parse_classic(data: bytes) -> CaptureFile:
    magic_le = struct.unpack_from("<I", data)[0]
    magic_be = struct.unpack_from(">I", data)[0]
    if magic_le in (PCAP_MAGIC_MICRO, PCAP_MAGIC_NANO):
        order, magic = "<", magic_le
    elif magic_be in (PCAP_MAGIC_MICRO, PCAP_MAGIC_NANO):
        order, magic = ">", magic_be
    else:
        raise PcapError(f"not a pcap or pcapng file: unknown magic 0x{magic_le:08x} at offset 0")
    if len(data) < 24:
        raise PcapError(f"pcap global header truncated: {len(data)} of 24 bytes (offset 0)")
    linktype = struct.unpack_from(order + "I", data, 20)[0] & 0x0FFFFFFF
    divisor = 1e9 if magic == PCAP_MAGIC_NANO else 1e6
    capture = CaptureFile("pcap")
    offset, number = 24, 0
    while offset < len(data):
        number += 1
        if offset + 16 > len(data):
            capture.problems.append(
                f"packet {number} at offset {offset}: record header truncated "
                f"({len(data) - offset} of 16 bytes); packet ignored"
            )
            break
        seconds, fraction, captured, original = struct.unpack_from(order + "IIII", data, offset)
        if captured > MAX_RECORD:
            raise PcapError(
                f"packet {number} at offset {offset}: corrupt record header "
                f"(captured length {captured})"
            )
        body = data[offset + 16 : offset + 16 + captured]
        if len(body) < captured:
            capture.problems.append(
                f"packet {number} at offset {offset}: truncated "
                f"({len(body)} of {captured} bytes); analysed what is there"
            )
        capture.packets.append(
            RawPacket(number, offset, seconds + fraction / divisor, linktype, body, original)
        )
        offset += 16 + captured
    return capture


@dataclass
class _Interface:
    linktype: int
    snaplen: int
    units_per_second: float


def _parse_pcapng(data: bytes) -> CaptureFile:
    capture = CaptureFile("pcapng")
    order = "<"
    interfaces: list[_Interface] = []
    offset, number = 0, 0
    while offset < len(data):
        if offset + 12 > len(data):
            capture.problems.append(
                f"block at offset {offset}: truncated header ({len(data) - offset} bytes); ignored"
            )
            break
        block_type = struct.unpack_from(order + "I", data, offset)[0]
        if block_type == PCAPNG_SHB:
            order = _section_byte_order(data, offset)
            interfaces = []
        block_type, length = struct.unpack_from(order + "II", data, offset)
        if length < 12 or length % 4 or length > MAX_RECORD:
            raise PcapError(f"pcapng block at offset {offset}: corrupt block length {length}")
        if offset + length > len(data):
            if block_type in (PCAPNG_EPB, PCAPNG_SPB):
                capture.problems.append(
                    f"packet {number + 1} at offset {offset}: truncated "
                    f"({len(data) - offset} of {length} bytes); packet ignored"
                )
                break
            raise PcapError(
                f"pcapng block at offset {offset} (type {block_type}) truncated: "
                f"{len(data) - offset} of {length} bytes"
            )
        body = data[offset + 8 : offset + length - 4]
        if block_type == PCAPNG_SHB:
            capture.comments += _comments(_options(body[16:], order, offset))
        elif block_type == PCAPNG_IDB:
            interfaces.append(_interface(body, order, offset))
        elif block_type in (PCAPNG_EPB, PCAPNG_SPB):
            number += 1
            packet, comments = _packet_block(block_type, body, order, offset, number, interfaces)
            capture.packets.append(packet)
            capture.comments += [f"packet {number}: {text}" for text in comments]
        offset += length
    return capture


def _section_byte_order(data: bytes, offset: int) -> str:
    if offset + 12 > len(data):
        raise PcapError(f"pcapng section header at offset {offset} truncated")
    if struct.unpack_from("<I", data, offset + 8)[0] == PCAPNG_BYTE_ORDER_MAGIC:
        return "<"
    if struct.unpack_from(">I", data, offset + 8)[0] == PCAPNG_BYTE_ORDER_MAGIC:
        return ">"
    raise PcapError(f"pcapng section header at offset {offset}: bad byte-order magic")


def _options(raw: bytes, order: str, block_offset: int) -> list[tuple[int, bytes]]:
    options: list[tuple[int, bytes]] = []
    position = 0
    while position + 4 <= len(raw):
        code, length = struct.unpack_from(order + "HH", raw, position)
        if code == OPT_END:
            break
        value = raw[position + 4 : position + 4 + length]
        if len(value) < length:
            raise PcapError(f"pcapng block at offset {block_offset}: option {code} overruns block")
        options.append((code, value))
        position += 4 + (length + 3) // 4 * 4
    return options


def _comments(options: list[tuple[int, bytes]]) -> list[str]:
    return [value.decode("utf-8", "replace") for code, value in options if code == OPT_COMMENT]


def _interface(body: bytes, order: str, offset: int) -> _Interface:
    if len(body) < 8:
        raise PcapError(f"pcapng interface block at offset {offset} too short")
    linktype, _reserved, snaplen = struct.unpack_from(order + "HHI", body)
    units = 1e6
    for code, value in _options(body[8:], order, offset):
        if code == OPT_IF_TSRESOL and value:
            exponent = value[0] & 0x7F
            units = float(2**exponent) if value[0] & 0x80 else float(10**exponent)
    return _Interface(linktype, snaplen, units)


def _packet_block(
    block_type: int,
    body: bytes,
    order: str,
    offset: int,
    number: int,
    interfaces: list[_Interface],
) -> tuple[RawPacket, list[str]]:
    where = f"packet {number} at offset {offset}"
    if block_type == PCAPNG_SPB:
        if not interfaces or len(body) < 4:
            raise PcapError(f"{where}: simple packet block without interface or length")
        original = struct.unpack_from(order + "I", body)[0]
        interface = interfaces[0]
        captured = min(original, interface.snaplen or original, len(body) - 4)
        return RawPacket(number, offset, 0.0, interface.linktype, body[4 : 4 + captured],
                         original), []
    if len(body) < 20:
        raise PcapError(f"{where}: enhanced packet block too short ({len(body)} bytes)")
    interface_id, high, low, captured, original = struct.unpack_from(order + "IIIII", body)
    if interface_id >= len(interfaces):
        raise PcapError(f"{where}: refers to undeclared interface {interface_id}")
    if 20 + captured > len(body):
        raise PcapError(f"{where}: captured length {captured} overruns its block")
    interface = interfaces[interface_id]
    timestamp = ((high << 32) | low) / interface.units_per_second
    options = _options(body[20 + (captured + 3) // 4 * 4 :], order, offset)
    packet = RawPacket(number, offset, timestamp, interface.linktype,
                       body[20 : 20 + captured], original)
    return packet, _comments(options)
