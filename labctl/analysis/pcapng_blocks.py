# The pcapng format's block and option codes and the parsing of its small metadata
# blocks (section header byte order, interface descriptions, options and comments).
# pcap_reader.py walks the file; this module reads what one block says.
from __future__ import annotations

import struct
from dataclasses import dataclass

PCAPNG_SHB = 0x0A0D0D0A
PCAPNG_BYTE_ORDER_MAGIC = 0x1A2B3C4D
PCAPNG_IDB = 0x00000001
PCAPNG_SPB = 0x00000003
PCAPNG_EPB = 0x00000006
OPT_END = 0
OPT_COMMENT = 1
OPT_IF_TSRESOL = 9


class PcapError(ValueError):
    """A capture file that cannot be read; the message says what and where."""


@dataclass(frozen=True)
class Interface:
    """What an interface description block says about its packets."""

    linktype: int
    snaplen: int
    units_per_second: float


def section_byte_order(data: bytes, position: int, offset: int) -> str:
    """"<" or ">" from the section header at data[position:] (file offset `offset`)."""
    if position + 12 > len(data):
        raise PcapError(f"pcapng section header at offset {offset} truncated")
    if struct.unpack_from("<I", data, position + 8)[0] == PCAPNG_BYTE_ORDER_MAGIC:
        return "<"
    if struct.unpack_from(">I", data, position + 8)[0] == PCAPNG_BYTE_ORDER_MAGIC:
        return ">"
    raise PcapError(f"pcapng section header at offset {offset}: bad byte-order magic")


def options_of(raw: bytes, order: str, block_offset: int) -> list[tuple[int, bytes]]:
    """The (code, value) options of a block's option area."""
    options: list[tuple[int, bytes]] = []
    position = 0
    while position + 4 <= len(raw):
        code, length = struct.unpack_from(order + "HH", raw, position)
        if code == OPT_END:
            break
        value = raw[position + 4 : position + 4 + length]
        if len(value) < length:
            raise PcapError(f"pcapng block at offset {block_offset}: option {code} "
                             "overruns block")
        options.append((code, value))
        position += 4 + (length + 3) // 4 * 4
    return options


def comments_of(options: list[tuple[int, bytes]]) -> list[str]:
    """The comment options' text."""
    return [value.decode("utf-8", "replace") for code, value in options if code == OPT_COMMENT]


def interface_of(body: bytes, order: str, offset: int) -> Interface:
    """An interface description block's link type, snap length and time resolution."""
    if len(body) < 8:
        raise PcapError(f"pcapng interface block at offset {offset} too short")
    linktype, _reserved, snaplen = struct.unpack_from(order + "HHI", body)
    units = 1e6
    for code, value in options_of(body[8:], order, offset):
        if code == OPT_IF_TSRESOL and value:
            exponent = value[0] & 0x7F
            units = float(2**exponent) if value[0] & 0x80 else float(10**exponent)
    return Interface(linktype, snaplen, units)
