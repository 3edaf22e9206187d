# From link-layer frames to TCP segments over IPv4.
#
# Link types handled: Ethernet (1, also 802.1Q tagged), BSD loopback (0), Linux cooked
# SLL (113) and SLL2 (276), raw IP (101, 228). Everything that is not TCP over IPv4
# (ARP, UDP, IPv6, IP fragments) is skipped and counted, so the caller can say so in a
# note instead of silently dropping it.
from __future__ import annotations

import socket
import struct
from collections import Counter
from dataclasses import dataclass, field

from labctl.analysis.pcap_reader import RawPacket

LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_LINUX_SLL2 = 276

ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_IPV6 = 0x86DD
ETHERTYPE_VLAN = (0x8100, 0x88A8)

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10


@dataclass(frozen=True)
class TcpPacket:
    """One TCP segment of a capture, with its IPv4 addresses."""

    number: int
    timestamp: float
    src: str
    sport: int
    dst: str
    dport: int
    seq: int
    ack: int
    flags: int
    payload: bytes
    truncated: bool = False  # the capture holds fewer payload bytes than were sent

    def has(self, flag: int) -> bool:
        """True when the TCP header carries `flag` (SYN, ACK, FIN, RST, ...)."""
        return bool(self.flags & flag)


@dataclass
class DecodedCapture:
    """The TCP packets of a capture and a count of everything that was skipped."""

    packets: list[TcpPacket] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)

    def notes(self) -> list[str]:
        """One problem note per kind of skipped packet, with its count."""
        return [f"{count} packet(s) skipped: {why}" for why, count in sorted(self.skipped.items())]


def decode_packets(frames: list[RawPacket]) -> DecodedCapture:
    """Decode every frame; keep TCP over IPv4, count the rest by reason."""
    decoded = DecodedCapture()
    for frame in frames:
        result = _decode(frame)
        if isinstance(result, TcpPacket):
            decoded.packets.append(result)
        else:
            decoded.skipped[result] += 1
    return decoded


def _decode(frame: RawPacket) -> TcpPacket | str:
    network = _network_layer(frame.linktype, frame.data)
    if isinstance(network, str):
        return network
    ethertype, ip = network
    if ethertype == ETHERTYPE_IPV6:
        return "IPv6 (not analysed)"
    if ethertype != ETHERTYPE_IPV4:
        return f"not IP (ethertype 0x{ethertype:04x})"
    return _ipv4_tcp(frame, ip)


def _network_layer(linktype: int, data: bytes) -> tuple[int, bytes] | str:
    if linktype == LINKTYPE_ETHERNET:
        if len(data) < 14:
            return "truncated Ethernet header"
        ethertype, position = struct.unpack_from(">H", data, 12)[0], 14
        while ethertype in ETHERTYPE_VLAN and len(data) >= position + 4:
            ethertype = struct.unpack_from(">H", data, position + 2)[0]
            position += 4
        return ethertype, data[position:]
    if linktype == LINKTYPE_LINUX_SLL:
        if len(data) < 16:
            return "truncated Linux cooked header"
        return struct.unpack_from(">H", data, 14)[0], data[16:]
    if linktype == LINKTYPE_LINUX_SLL2:
        if len(data) < 20:
            return "truncated Linux cooked v2 header"
        return struct.unpack_from(">H", data, 0)[0], data[20:]
    if linktype == LINKTYPE_NULL:
        if len(data) < 4:
            return "truncated loopback header"
        family = max(struct.unpack_from("<I", data)[0], struct.unpack_from(">I", data)[0])
        return (ETHERTYPE_IPV4 if family == 2 else ETHERTYPE_IPV6), data[4:]
    if linktype in (LINKTYPE_RAW, LINKTYPE_IPV4):
        version = data[0] >> 4 if data else 0
        return (ETHERTYPE_IPV6 if version == 6 else ETHERTYPE_IPV4), data
    return f"unsupported link type {linktype}"


def _ipv4_tcp(frame: RawPacket, ip: bytes) -> TcpPacket | str:
    if len(ip) < 20 or ip[0] >> 4 != 4:
        return "truncated or malformed IPv4 header"
    header_length = (ip[0] & 0x0F) * 4
    total_length, fragment = struct.unpack_from(">H2xH", ip, 2)
    if ip[9] != socket.IPPROTO_TCP:
        return f"IPv4 protocol {ip[9]} (not TCP)"
    if fragment & 0x3FFF:
        return "IPv4 fragment (not reassembled)"
    if header_length < 20 or len(ip) < header_length + 20:
        return "truncated IPv4/TCP header"
    src, dst = socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20])
    tcp = ip[header_length : max(total_length, header_length)]  # drop Ethernet padding
    if len(tcp) < 20:
        return "truncated TCP header"
    sport, dport, seq, ack, offset_flags = struct.unpack_from(">HHIIH", tcp)
    data_offset = (offset_flags >> 12) * 4
    if data_offset < 20 or data_offset > len(tcp):
        return "malformed TCP header"
    payload = tcp[data_offset:]
    expected = total_length - header_length - data_offset
    return TcpPacket(
        frame.number, frame.timestamp, src, sport, dst, dport, seq, ack,
        offset_flags & 0x3F, payload, truncated=len(payload) < expected,
    )
