# Building frames: Ethernet/IPv4/TCP packets with correct checksums, and a synthesizer
# that turns a relayed byte stream into the packets a capture of it would have held
# (three-way handshake, data segments with matching seq/ack, FIN close).
#
# The recording relay and the test fixtures use it; the frames go to a writer from
# pcap_writer.py (anything with `write_packet(timestamp, frame)`).
from __future__ import annotations

import hashlib
import socket
import struct
from typing import Protocol

from labctl.analysis.packet_decode import ACK, FIN, PSH, RST, SYN
from labctl.analysis.results import Endpoint

MSS = 1460


class PacketSink(Protocol):
    def write_packet(self, timestamp: float, frame: bytes) -> None: ...


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f">{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def mac_for(ip: str) -> bytes:
    """A stable, locally administered MAC address derived from an IPv4 address."""
    return b"\x02\x00" + socket.inet_aton(ip)


def tcp_ipv4_packet(
    src: Endpoint, dst: Endpoint, seq: int, ack: int, flags: int, payload: bytes = b"",
    ip_id: int = 0,
) -> bytes:
    """An IPv4 packet carrying one TCP segment, checksums filled in."""
    src_ip, dst_ip = socket.inet_aton(src.ip), socket.inet_aton(dst.ip)
    header = struct.pack(">HHIIBBHHH", src.port, dst.port, seq & 0xFFFFFFFF,
                         ack & 0xFFFFFFFF, 5 << 4, flags, 65535, 0, 0)
    segment_length = len(header) + len(payload)
    pseudo = src_ip + dst_ip + struct.pack(">BBH", 0, socket.IPPROTO_TCP, segment_length)
    tcp_sum = _checksum(pseudo + header + payload)
    tcp = header[:16] + struct.pack(">H", tcp_sum) + header[18:] + payload
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), ip_id & 0xFFFF, 0x4000, 64,
                     socket.IPPROTO_TCP, 0, src_ip, dst_ip)
    ip = ip[:10] + struct.pack(">H", _checksum(ip)) + ip[12:]
    return ip + tcp


def ethernet_frame(src_ip: str, dst_ip: str, ip_packet: bytes) -> bytes:
    """Wrap an IPv4 packet in an Ethernet II header."""
    return mac_for(dst_ip) + mac_for(src_ip) + struct.pack(">H", 0x0800) + ip_packet


def _initial_sequence(endpoint_a: Endpoint, endpoint_b: Endpoint) -> int:
    digest = hashlib.sha256(f"{endpoint_a}>{endpoint_b}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


class TcpStreamSynthesizer:
    """Writes the Ethernet frames of one TCP connection as its bytes are relayed."""

    def __init__(self, sink: PacketSink, client: Endpoint, server: Endpoint) -> None:
        self.sink = sink
        self.client = client
        self.server = server
        self._next_seq = {True: _initial_sequence(client, server),
                          False: _initial_sequence(server, client)}
        self._ip_id = {True: 1, False: 1}
        self._fin_sent = {True: False, False: False}

    def _emit(self, from_client: bool, flags: int, payload: bytes, timestamp: float,
              seq: int | None = None) -> None:
        src, dst = (self.client, self.server) if from_client else (self.server, self.client)
        own_seq = self._next_seq[from_client] if seq is None else seq
        ack = self._next_seq[not from_client] if flags & ACK else 0
        ip = tcp_ipv4_packet(src, dst, own_seq, ack, flags, payload, self._ip_id[from_client])
        self._ip_id[from_client] += 1
        self.sink.write_packet(timestamp, ethernet_frame(src.ip, dst.ip, ip))

    def handshake(self, timestamp: float) -> None:
        """SYN, SYN-ACK, ACK."""
        self._emit(True, SYN, b"", timestamp)
        self._next_seq[True] += 1
        self._emit(False, SYN | ACK, b"", timestamp)
        self._next_seq[False] += 1
        self._emit(True, ACK, b"", timestamp)

    def data(self, from_client: bool, payload: bytes, timestamp: float) -> None:
        """Data segments of at most MSS bytes each, then the peer's ACK."""
        for start in range(0, len(payload), MSS):
            chunk = payload[start : start + MSS]
            self._emit(from_client, ACK | PSH, chunk, timestamp)
            self._next_seq[from_client] += len(chunk)
        if payload:
            self._emit(not from_client, ACK, b"", timestamp)

    def fin(self, from_client: bool, timestamp: float) -> None:
        """One side closes its direction: FIN, then the peer's ACK."""
        if self._fin_sent[from_client]:
            return
        self._fin_sent[from_client] = True
        self._emit(from_client, FIN | ACK, b"", timestamp)
        self._next_seq[from_client] += 1
        self._emit(not from_client, ACK, b"", timestamp)

    def close(self, timestamp: float, from_client: bool = True) -> None:
        """Both directions closed, `from_client` first."""
        self.fin(from_client, timestamp)
        self.fin(not from_client, timestamp)

    def reset(self, from_client: bool, timestamp: float) -> None:
        """An RST from one side."""
        self._emit(from_client, RST | ACK, b"", timestamp)


def synthesize_connection(
    sink: PacketSink,
    client: Endpoint,
    server: Endpoint,
    exchanges: list[tuple[bool, bytes, float]],
    handshake: bool = True,
    close: bool = True,
) -> None:
    """Write a whole connection from (from_client, bytes, time) steps."""
    synthesizer = TcpStreamSynthesizer(sink, client, server)
    first = exchanges[0][2] if exchanges else 0.0
    if handshake:
        synthesizer.handshake(first)
    for from_client, payload, timestamp in exchanges:
        synthesizer.data(from_client, payload, timestamp)
    if close:
        synthesizer.close(exchanges[-1][2] if exchanges else first)
