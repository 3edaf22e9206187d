# From link-layer frames to TCP segments and UDP datagrams over IPv4 and IPv6.
#
# Link types handled: Ethernet (1, also 802.1Q/802.1ad tagged), BSD loopback (0, 108),
# Linux cooked SLL (113) and SLL2 (276), raw IP (12, 14, 101, 228, 229). IPv6 extension
# headers (hop-by-hop, routing, destination options) are skipped. Everything else (ARP,
# ICMP, ICMPv6, other IP protocols, IP fragments, unknown link types) is counted by
# reason, so the caller can say so in a note instead of silently dropping it.
#
# This runs once per packet of a capture: headers are read by offset into the frame
# with precompiled structs, the frame is never sliced except for the payload, and
# addresses are turned into text once per address (a small cache), not once per packet.
from __future__ import annotations

import functools
import socket
import struct
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import NamedTuple, TypeVar, cast

from labctl.analysis.pcap_reader import FrameView, RawPacket

LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LOOP = 108
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
LINKTYPE_LINUX_SLL2 = 276
RAW_IP_LINKTYPES = (12, 14, LINKTYPE_RAW, LINKTYPE_IPV4, LINKTYPE_IPV6)

ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_ARP = 0x0806
ETHERTYPE_IPV6 = 0x86DD
ETHERTYPE_VLAN = (0x8100, 0x88A8, 0x9100)

PROTO_TCP, PROTO_UDP = 6, 17
PROTO_NAMES = {1: "ICMP", 2: "IGMP", 58: "ICMPv6", 132: "SCTP"}
IPV6_EXTENSIONS = (0, 43, 60)  # hop-by-hop, routing, destination options
IPV6_FRAGMENT = 44

UNSUPPORTED_LINK_TYPE = "unsupported link type"  # the skip reason, followed by the number
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10

_IPV4 = struct.Struct(">BxHxxHxB2x4s4s").unpack_from  # ver/ihl, total, frag, proto, src, dst
_IPV6 = struct.Struct(">4xHBx16s16s").unpack_from  # payload length, next header, src, dst
_TCP = struct.Struct(">HHIIBB").unpack_from  # ports, seq, ack, data offset, flags
_UDP = struct.Struct(">HHH").unpack_from  # ports, length
_USHORT = struct.Struct(">H").unpack_from


class TcpPacket(NamedTuple):
    """One TCP segment of a capture, with its IP addresses."""

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
    missing: int = 0  # how many payload bytes the capture lacks (snap length)

    def has(self, flag: int) -> bool:
        """True when the TCP header carries `flag` (SYN, ACK, FIN, RST, ...)."""
        return bool(self.flags & flag)


class UdpDatagram(NamedTuple):
    """One UDP datagram of a capture, with its IP addresses."""

    number: int
    timestamp: float
    src: str
    sport: int
    dst: str
    dport: int
    payload: bytes
    truncated: bool = False


Packet = TcpPacket | UdpDatagram
T = TypeVar("T")


@dataclass
class DecodedCapture:
    """The TCP and UDP packets of a capture and a count of everything that was skipped."""

    packets: list[TcpPacket] = field(default_factory=list)
    datagrams: list[UdpDatagram] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)

    def notes(self) -> list[str]:
        """One problem note per kind of skipped packet, with its count."""
        return skipped_notes(self.skipped)


def unreadable_link_layer(skipped: Counter[str]) -> bool:
    """Whether packets were skipped because their link layer cannot be read at all (the
    capture's analysis is then incomplete; every other skip is noise or one bad packet)."""
    return any(reason.startswith(UNSUPPORTED_LINK_TYPE) for reason in skipped)


def skipped_notes(skipped: Counter[str]) -> list[str]:
    """One note per kind of skipped packet, with its count."""
    return [f"{count} packet(s) skipped: {why}" for why, count in sorted(skipped.items())]


def decode_packets(frames: Iterable[RawPacket]) -> DecodedCapture:
    """Decode every frame; keep TCP and UDP, count the rest by reason."""
    decoded = DecodedCapture()
    views = ((p.number, p.offset, p.timestamp, p.linktype, p.data, 0, len(p.data),
              p.original_length) for p in frames)
    for packet in iter_decoded(views, decoded.skipped):
        if isinstance(packet, TcpPacket):
            decoded.packets.append(packet)
        else:
            decoded.datagrams.append(packet)
    return decoded


def iter_decoded(frames: Iterable[FrameView], skipped: Counter[str]) -> Iterator[Packet]:
    """TCP segments and UDP datagrams of `frames`, in order; the rest counted in `skipped`."""
    names: dict[bytes, str] = {}
    new_tcp, new_udp = _tuple_new(TcpPacket), _tuple_new(UdpDatagram)
    for number, _offset, timestamp, linktype, data, begin, stop, _original in frames:
        if linktype == LINKTYPE_ETHERNET and stop - begin >= 14:
            ethertype, start = (data[begin + 12] << 8) | data[begin + 13], begin + 14
            while ethertype in ETHERTYPE_VLAN and stop >= start + 4:
                ethertype, start = (data[start + 2] << 8) | data[start + 3], start + 4
        else:
            layer = network_layer(linktype, data, begin, stop)
            if isinstance(layer, str):
                skipped[layer] += 1
                continue
            ethertype, start = layer
        if ethertype == ETHERTYPE_IPV4:
            if stop < start + 20 or data[start] >> 4 != 4:
                skipped["truncated or malformed IPv4 header"] += 1
                continue
            version_ihl, total, fragment, proto, src_raw, dst_raw = _IPV4(data, start)
            transport = start + (version_ihl & 0x0F) * 4
            end = start + total if total else stop  # 0: segmentation offload
            if version_ihl & 0x0F < 5 or end < transport:
                skipped["malformed IPv4 header"] += 1
                continue
            if fragment & 0x3FFF:
                skipped["IPv4 fragment (not reassembled)"] += 1
                continue
        elif ethertype == ETHERTYPE_IPV6:
            header = _ipv6_transport(data, start, stop)
            if isinstance(header, str):
                skipped[header] += 1
                continue
            proto, transport, end, src_raw, dst_raw = header
        else:
            skipped["ARP" if ethertype == ETHERTYPE_ARP
                    else f"not IP (ethertype 0x{ethertype:04x})"] += 1
            continue
        src = names.get(src_raw) or _name(names, src_raw)
        dst = names.get(dst_raw) or _name(names, dst_raw)
        if proto == PROTO_TCP:
            if stop < transport + 20:
                skipped["truncated TCP header"] += 1
                continue
            sport, dport, seq, ack, data_offset, flags = _TCP(data, transport)
            first = transport + (data_offset >> 4) * 4
            if first < transport + 20 or first > end:
                skipped["malformed TCP header"] += 1
                continue
            last = end if end <= stop else stop
            missing = end - last
            yield new_tcp((number, timestamp, src, sport, dst, dport, seq, ack, flags & 0x3F,
                           data[first:last], missing > 0, missing))
        elif proto == PROTO_UDP:
            if stop < transport + 8:
                skipped["truncated UDP header"] += 1
                continue
            sport, dport, length = _UDP(data, transport)
            end = min(end, transport + length) if length >= 8 else end
            yield new_udp((number, timestamp, src, sport, dst, dport,
                           data[transport + 8 : min(end, stop)], end > stop))
        else:
            family = "IPv4" if ethertype == ETHERTYPE_IPV4 else "IPv6"
            skipped[PROTO_NAMES.get(proto) or f"{family} protocol {proto}"] += 1


def _tuple_new(kind: type[T]) -> Callable[[tuple[object, ...]], T]:
    """Builds a `kind` NamedTuple from a tuple of its fields without a Python-level call
    (the generated __new__ costs as much as the rest of decoding a packet)."""
    return cast(Callable[[tuple[object, ...]], T], functools.partial(tuple.__new__, kind))


def _name(names: dict[bytes, str], raw: bytes) -> str:
    text = socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, raw)
    if len(names) > 100_000:  # a scan of many addresses: keep the cache small
        names.clear()
    names[raw] = text
    return text


def _ipv6_transport(data: bytes, start: int,
                    stop: int) -> tuple[int, int, int, bytes, bytes] | str:
    """(next protocol, its offset, end of the IP payload, src, dst) or why not."""
    if stop < start + 40 or data[start] >> 4 != 6:
        return "truncated or malformed IPv6 header"
    payload_length, proto, src, dst = _IPV6(data, start)
    position, end = start + 40, start + 40 + payload_length if payload_length else stop
    while proto in IPV6_EXTENSIONS or proto == IPV6_FRAGMENT:
        if proto == IPV6_FRAGMENT:
            return "IPv6 fragment (not reassembled)"
        if stop < position + 8:
            return "truncated IPv6 extension header"
        proto, position = data[position], position + (data[position + 1] + 1) * 8
    return proto, position, end, src, dst


def network_layer(linktype: int, data: bytes, begin: int, stop: int) -> tuple[int, int] | str:
    """(ethertype, offset of the network header) of the frame data[begin:stop], or why
    it has none."""
    size = stop - begin
    if linktype == LINKTYPE_ETHERNET:
        return "truncated Ethernet header"  # longer frames are read inline by iter_decoded
    if linktype == LINKTYPE_LINUX_SLL:
        if size < 16:
            return "truncated Linux cooked header"
        return _USHORT(data, begin + 14)[0], begin + 16
    if linktype == LINKTYPE_LINUX_SLL2:
        if size < 20:
            return "truncated Linux cooked v2 header"
        return _USHORT(data, begin)[0], begin + 20
    if linktype in (LINKTYPE_NULL, LINKTYPE_LOOP):
        if size < 4:
            return "truncated loopback header"
        order = ">" if linktype == LINKTYPE_LOOP else "<"
        family = struct.unpack_from(order + "I", data, begin)[0]
        if family > 0xFFFF:  # written in the other byte order than the file says
            family = struct.unpack_from(">I" if order == "<" else "<I", data, begin)[0]
        return (ETHERTYPE_IPV4 if family == 2 else ETHERTYPE_IPV6), begin + 4
    if linktype in RAW_IP_LINKTYPES:
        version = data[begin] >> 4 if size else 0
        return (ETHERTYPE_IPV6 if version == 6 else ETHERTYPE_IPV4), begin
    return f"{UNSUPPORTED_LINK_TYPE} {linktype}"
