# TCP reassembly: packets of a capture → one byte stream per direction per connection.
#
# Theory of operation. Packets are grouped per connection (the unordered 4-tuple; a new
# SYN on a 4-tuple whose connection already carried data or closed starts a new one).
# The client is the side that sent the SYN (or received the SYN-ACK). Without either
# (the capture started mid-connection) the side with the higher port is the client —
# clients use ephemeral ports, servers well-known or configured ones; on equal ports the
# side that sent the first packet is. Each direction's bytes are placed by sequence
# number relative to its SYN (or to the lowest sequence number seen): retransmissions and
# duplicates are dropped, overlaps trimmed, out-of-order data held until the gap fills.
# Bytes are delivered in capture order, merged into direction-alternating Segments.
from __future__ import annotations

from dataclasses import dataclass, field

from labctl.analysis.packet_decode import ACK, FIN, RST, SYN, TcpPacket
from labctl.analysis.results import Endpoint, Segment

WRAP = 1 << 32
HALF = 1 << 31


@dataclass
class TcpStream:
    """One reassembled TCP connection."""

    client: Endpoint
    server: Endpoint
    segments: list[Segment] = field(default_factory=list)
    handshake: bool = False  # SYN, SYN-ACK and the client's ACK all seen
    closed: bool = False  # FIN or RST seen
    client_fin: bool = False
    server_fin: bool = False
    reset: bool = False
    start: float = 0.0
    end: float = 0.0
    packets: int = 0
    retransmissions: int = 0  # payload-carrying packets that brought no new bytes
    problems: list[str] = field(default_factory=list)


def _signed(delta: int) -> int:
    return (delta + HALF) % WRAP - HALF


def _connection_key(packet: TcpPacket) -> tuple[tuple[str, int], tuple[str, int]]:
    a, b = (packet.src, packet.sport), (packet.dst, packet.dport)
    return (a, b) if a <= b else (b, a)


def _is_syn(packet: TcpPacket) -> bool:
    return packet.has(SYN) and not packet.has(ACK)


def group_connections(packets: list[TcpPacket]) -> list[list[TcpPacket]]:
    """Split packets into connections, in order of each connection's first packet."""
    groups: list[list[TcpPacket]] = []
    active: dict[tuple[tuple[str, int], tuple[str, int]], list[TcpPacket]] = {}
    for packet in packets:
        key = _connection_key(packet)
        group = active.get(key)
        if group is not None and _is_syn(packet) and _is_finished_or_used(group, packet):
            group = None
        if group is None:
            group = []
            groups.append(group)
            active[key] = group
        group.append(packet)
    return groups


def _is_finished_or_used(group: list[TcpPacket], syn: TcpPacket) -> bool:
    earlier_syns = [p.seq for p in group if _is_syn(p)]
    if earlier_syns and syn.seq in earlier_syns:
        return False  # a retransmitted SYN
    return any(p.payload or p.has(FIN) or p.has(RST) for p in group)


def _choose_client(group: list[TcpPacket]) -> tuple[Endpoint, Endpoint, str | None]:
    first = group[0]
    for packet in group:
        if _is_syn(packet):
            return Endpoint(packet.src, packet.sport), Endpoint(packet.dst, packet.dport), None
        if packet.has(SYN) and packet.has(ACK):
            return Endpoint(packet.dst, packet.dport), Endpoint(packet.src, packet.sport), None
    a, b = Endpoint(first.src, first.sport), Endpoint(first.dst, first.dport)
    if b.port > a.port:
        a, b = b, a
    return a, b, "no SYN seen (capture started mid-connection): client taken to be the side " \
        "with the higher port"


class _Direction:
    """Reassembly state of one direction of a connection."""

    def __init__(self, packets: list[TcpPacket]) -> None:
        syn = next((p for p in packets if p.has(SYN)), None)
        with_data = [p for p in packets if p.payload]
        if syn is not None:
            self.base = (syn.seq + 1) % WRAP
        elif with_data:
            first = with_data[0].seq
            self.base = (first + min(_signed(p.seq - first) for p in with_data)) % WRAP
        else:
            self.base = 0
        self.delivered = 0
        self.pending: dict[int, tuple[bytes, float]] = {}

    def accept(self, packet: TcpPacket) -> list[tuple[bytes, float]] | None:
        """New in-order bytes this packet makes deliverable; None when it brought nothing new."""
        start = _signed(packet.seq - self.base)
        end = start + len(packet.payload)
        if end <= self.delivered or self.pending.get(start, (b"", 0.0))[0] == packet.payload:
            return None
        self.pending[start] = (packet.payload, packet.timestamp)
        return self._flush()

    def _flush(self) -> list[tuple[bytes, float]]:
        ready: list[tuple[bytes, float]] = []
        while True:
            starts = [s for s in self.pending if s <= self.delivered]
            if not starts:
                return ready
            for start in sorted(starts):
                data, timestamp = self.pending.pop(start)
                fresh = data[self.delivered - start :] if self.delivered > start else data
                if start + len(data) > self.delivered:
                    ready.append((fresh, timestamp))
                    self.delivered = start + len(data)

    def drain_gaps(self) -> tuple[list[tuple[bytes, float]], list[str]]:
        """Deliver what waits behind a gap that never filled, with a note per gap."""
        ready: list[tuple[bytes, float]] = []
        notes: list[str] = []
        while self.pending:
            start = min(self.pending)
            notes.append(f"{start - self.delivered} byte(s) missing at stream offset "
                         f"{self.delivered} (never captured); later bytes kept after the gap")
            self.delivered = start
            ready += self._flush()
        return ready, notes


def reassemble_connection(group: list[TcpPacket]) -> TcpStream:
    """Reassemble one connection's packets (as grouped by group_connections)."""
    client, server, note = _choose_client(group)
    stream = TcpStream(client, server, start=group[0].timestamp, end=group[-1].timestamp,
                       packets=len(group))
    if note:
        stream.problems.append(note)

    def from_client(packet: TcpPacket) -> bool:
        return (packet.src, packet.sport) == (client.ip, client.port)

    directions = {side: _Direction([p for p in group if from_client(p) == side])
                  for side in (True, False)}
    segments = _SegmentBuilder()
    syn = syn_ack = False
    for packet in group:
        side = from_client(packet)
        syn = syn or (side and _is_syn(packet))
        syn_ack = syn_ack or (not side and packet.has(SYN) and packet.has(ACK))
        if syn and syn_ack and side and packet.has(ACK) and not packet.has(SYN):
            stream.handshake = True
        if packet.truncated:
            stream.problems.append(f"packet {packet.number}: payload cut short by the capture")
        if packet.payload:
            ready = directions[side].accept(packet)
            if ready is None:
                stream.retransmissions += 1
            for data, timestamp in ready or []:
                segments.add(side, data, timestamp)
        stream.client_fin |= side and packet.has(FIN)
        stream.server_fin |= not side and packet.has(FIN)
        stream.reset |= packet.has(RST)
    for side in (True, False):
        ready, notes = directions[side].drain_gaps()
        who = "client" if side else "server"
        stream.problems += [f"{who} → {'server' if side else 'client'}: {n}" for n in notes]
        for data, timestamp in ready:
            segments.add(side, data, timestamp)
    stream.segments = segments.finish()
    stream.closed = stream.client_fin or stream.server_fin or stream.reset
    return stream


class _SegmentBuilder:
    """Merges delivered bytes into direction-alternating Segments (without quadratic copying)."""

    def __init__(self) -> None:
        self.segments: list[Segment] = []
        self.side: bool | None = None
        self.chunks: list[bytes] = []
        self.timestamp = 0.0

    def add(self, from_client: bool, data: bytes, timestamp: float) -> None:
        if not data:
            return
        if from_client != self.side:
            self._close_run()
            self.side, self.timestamp = from_client, timestamp
        self.chunks.append(data)

    def _close_run(self) -> None:
        if self.side is not None and self.chunks:
            self.segments.append(Segment(self.side, b"".join(self.chunks), self.timestamp))
        self.chunks = []

    def finish(self) -> list[Segment]:
        self._close_run()
        return self.segments


def reassemble(packets: list[TcpPacket]) -> list[TcpStream]:
    """Every TCP connection of a capture, reassembled, in order of first appearance."""
    return [reassemble_connection(group) for group in group_connections(packets)]
