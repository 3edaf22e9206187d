# Hand-made captures of the file formats' corners (handmade_captures.py writes them):
# pcapng blocks the lab's writer never makes, a damaged record, an unknown link type.
from __future__ import annotations

import struct
from collections.abc import Callable

from labctl.analysis.packet_decode import LINKTYPE_ETHERNET, LINKTYPE_RAW, SYN
from labctl.analysis.results import Endpoint
from tests.analysis.handmade import CLIENT4, SERVER4, Flow, pcap_bytes, tcp_packet


def record_offset(data: bytes, record: int) -> int:
    """Where record number `record` (from 1) of a little-endian classic pcap starts."""
    offset = 24
    for _ in range(record - 1):
        offset += 16 + struct.unpack_from("<I", data, offset + 8)[0]
    return offset


def record_header_corrupted(data: bytes, record: int) -> bytes:
    """`data` with the length of its record number `record` made impossible."""
    out, offset = bytearray(data), record_offset(data, record)
    out[offset + 8 : offset + 12] = struct.pack("<I", 0x7FFFFFFF)
    return bytes(out)


def _unknown_link_type() -> bytes:
    data = bytearray(pcap_bytes([(1.0, _syn())], LINKTYPE_RAW))
    data[20:24] = struct.pack("<I", 147)  # a user-defined link type
    return bytes(data)


def _syn() -> bytes:
    flow = Flow(CLIENT4, SERVER4)
    flow.handshake(1.0)
    return flow.packets[0][1]


def _two_interfaces() -> bytes:
    """pcapng: raw IP at nanosecond resolution, then Ethernet; one packet on each."""
    tcp = tcp_packet(Endpoint("1.2.3.4", 25), Endpoint("5.6.7.8", 42000), 1, 0, SYN)
    ethernet = b"\x02" * 12 + b"\x08\x00" + tcp
    nanoseconds = struct.pack("<HHB3x", 9, 1, 9) + bytes(4)  # if_tsresol = 10^-9
    shb = _block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)
                 + struct.pack("<HH", 1, 7) + b"section" + b"\0" + bytes(4))
    idb_raw = _block(1, struct.pack("<HHI", LINKTYPE_RAW, 0, 0) + nanoseconds)
    idb_ethernet = _block(1, struct.pack("<HHI", LINKTYPE_ETHERNET, 0, 0))
    raw_packet = _block(6, struct.pack("<IIIII", 0, 0, 1_500_000_000, len(tcp), len(tcp)) + tcp)
    ethernet_packet = _block(6, struct.pack("<IIIII", 1, 0, 2_000_000, len(ethernet),
                                            len(ethernet)) + ethernet)
    return shb + idb_raw + idb_ethernet + raw_packet + ethernet_packet


def _block(block_type: int, body: bytes) -> bytes:
    body += b"\0" * (-len(body) % 4)
    return struct.pack("<II", block_type, 12 + len(body)) + body + struct.pack("<I", 12 + len(body))


def _simple_packet_block_big_endian() -> bytes:
    frame = bytes(14 + 20)
    shb = struct.pack(">IIIHHq", 0x0A0D0D0A, 28, 0x1A2B3C4D, 1, 0, -1) + struct.pack(">I", 28)
    idb = struct.pack(">IIHHI", 1, 20, LINKTYPE_ETHERNET, 0, 0) + struct.pack(">I", 20)
    spb_len = 16 + len(frame) + (-len(frame) % 4)
    spb = struct.pack(">III", 3, spb_len, len(frame)) + frame + b"\0" * (-len(frame) % 4)
    return shb + idb + spb + struct.pack(">I", spb_len)


MAKERS: dict[str, Callable[[], bytes]] = {
    "unknown_link_type.pcap": _unknown_link_type,
    "pcapng_two_interfaces.pcapng": _two_interfaces,
    "pcapng_big_endian_simple_packet.pcapng": _simple_packet_block_big_endian,
}
