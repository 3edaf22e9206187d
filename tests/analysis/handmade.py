# Hand-made packets, the pieces of the hand-made captures: TCP over IPv4 or IPv6 with
# chosen sequence numbers and flags, UDP datagrams, and every link-layer wrapping the
# decoder reads (Ethernet with VLAN tags, Linux cooked v1/v2, loopback, raw IP). The
# captures are made once, by handmade_captures.py, into tests/data/pcaps/handmade/;
# the tests read those files.
from __future__ import annotations

import io
import socket
import struct
from dataclasses import dataclass, field

from labctl.analysis.packet_decode import (
    ACK,
    ETHERTYPE_IPV4,
    ETHERTYPE_IPV6,
    FIN,
    LINKTYPE_ETHERNET,
    LINKTYPE_IPV4,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    LINKTYPE_LOOP,
    LINKTYPE_NULL,
    LINKTYPE_RAW,
    PSH,
    RST,
    SYN,
)
from labctl.analysis.results import Endpoint
from labctl.capture.packet_build import tcp_ipv4_packet
from labctl.capture.pcap_writer import PcapWriter

WRAPPED_LINKTYPES = (LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2, LINKTYPE_NULL,
                     LINKTYPE_LOOP, LINKTYPE_RAW, LINKTYPE_IPV4)  # what link_frame makes
CLIENT4, SERVER4 = Endpoint("127.77.2.25", 40001), Endpoint("127.77.2.26", 25)
CLIENT6, SERVER6 = Endpoint("fd00:77::25", 40001), Endpoint("fd00:77::26", 25)


def _is_v6(ip: str) -> bool:
    return ":" in ip


def ip_packet(src: str, dst: str, protocol: int, transport: bytes) -> bytes:
    """An IPv4 or IPv6 header (by the address family) in front of `transport`."""
    if _is_v6(src):
        return (struct.pack(">IHBB", 6 << 28, len(transport), protocol, 64)
                + socket.inet_pton(socket.AF_INET6, src)
                + socket.inet_pton(socket.AF_INET6, dst) + transport)
    return struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(transport), 0, 0x4000, 64, protocol,
                       0, socket.inet_aton(src), socket.inet_aton(dst)) + transport


def tcp_packet(src: Endpoint, dst: Endpoint, seq: int, ack: int, flags: int,
               payload: bytes = b"") -> bytes:
    """A TCP segment in an IP packet."""
    if not _is_v6(src.ip):
        return tcp_ipv4_packet(src, dst, seq, ack, flags, payload)
    header = struct.pack(">HHIIBBHHH", src.port, dst.port, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                         5 << 4, flags, 65535, 0, 0)
    return ip_packet(src.ip, dst.ip, socket.IPPROTO_TCP, header + payload)


def udp_packet(src: Endpoint, dst: Endpoint, payload: bytes) -> bytes:
    """A UDP datagram in an IP packet."""
    header = struct.pack(">HHHH", src.port, dst.port, 8 + len(payload), 0)
    return ip_packet(src.ip, dst.ip, socket.IPPROTO_UDP, header + payload)


@dataclass
class Flow:
    """The IP packets of one hand-made TCP connection, with its sequence numbers kept."""

    client: Endpoint = CLIENT4
    server: Endpoint = SERVER4
    packets: list[tuple[float, bytes]] = field(default_factory=list)
    seq: dict[bool, int] = field(default_factory=lambda: {True: 1000, False: 0xFFFFFF00})

    def send(self, from_client: bool, flags: int, payload: bytes, time: float,
             seq: int | None = None) -> None:
        """One segment; `seq` given: sent from there (a retransmission or overlap)."""
        src, dst = (self.client, self.server) if from_client else (self.server, self.client)
        own = self.seq[from_client] if seq is None else seq
        self.packets.append((time, tcp_packet(src, dst, own, self.seq[not from_client],
                                              flags, payload)))
        if seq is None:
            self.seq[from_client] += len(payload) + (1 if flags & (SYN | FIN) else 0)

    def handshake(self, time: float, step: float = 0.001) -> None:
        self.send(True, SYN, b"", time)
        self.send(False, SYN | ACK, b"", time + step)
        self.send(True, ACK, b"", time + 2 * step)

    def data(self, from_client: bool, payload: bytes, time: float) -> None:
        self.send(from_client, ACK | PSH, payload, time)

    def fin(self, from_client: bool, time: float) -> None:
        self.send(from_client, FIN | ACK, b"", time)

    def reset(self, from_client: bool, time: float) -> None:
        self.send(from_client, RST | ACK, b"", time)

    def session(self, time: float, steps: list[tuple[bool, bytes]]) -> None:
        """Handshake at `time`, the steps 0.1 s apart, then FIN from the client and the
        server."""
        self.handshake(time)
        for index, (from_client, payload) in enumerate(steps, start=1):
            self.data(from_client, payload, time + index / 10)
        self.fin(True, time + (len(steps) + 1) / 10)
        self.fin(False, time + (len(steps) + 2) / 10)


def _ethertype(packet: bytes) -> int:
    return ETHERTYPE_IPV6 if packet[0] >> 4 == 6 else ETHERTYPE_IPV4


def link_frame(linktype: int, packet: bytes, vlans: tuple[int, ...] = ()) -> bytes:
    """`packet` wrapped for `linktype` (Ethernet: behind the given VLAN tags)."""
    ethertype = _ethertype(packet)
    if linktype == LINKTYPE_ETHERNET:
        tags = b"".join(struct.pack(">HH", 0x8100, vlan) for vlan in vlans)
        return b"\x02" * 6 + b"\x04" * 6 + tags + struct.pack(">H", ethertype) + packet
    if linktype == LINKTYPE_LINUX_SLL:
        return struct.pack(">HHH8sH", 0, 772, 6, bytes(8), ethertype) + packet
    if linktype == LINKTYPE_LINUX_SLL2:
        return struct.pack(">HHIHBB8s", ethertype, 0, 1, 772, 0, 6, bytes(8)) + packet
    if linktype in (LINKTYPE_NULL, LINKTYPE_LOOP):
        family = 2 if ethertype == ETHERTYPE_IPV4 else 30
        return struct.pack("<I" if linktype == LINKTYPE_NULL else ">I", family) + packet
    if linktype in (LINKTYPE_RAW, LINKTYPE_IPV4):
        return packet
    raise ValueError(f"no wrapping for link type {linktype}")


def pcap_bytes(packets: list[tuple[float, bytes]], linktype: int = LINKTYPE_ETHERNET,
               vlans: tuple[int, ...] = (), snaplen: int | None = None) -> bytes:
    """A classic pcap file of IP `packets` (frames cut to `snaplen` if given)."""
    out = io.BytesIO()
    writer = PcapWriter(out, linktype=linktype)
    for time, packet in packets:
        frame = link_frame(linktype, packet, vlans)
        kept = frame[:snaplen] if snaplen is not None else frame
        writer.write_packet(time, kept, len(frame))
    return out.getvalue()
