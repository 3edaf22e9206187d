# TCP reassembly: packets of a capture → one byte stream per direction per connection,
# handed over as soon as the connection is over (streaming: memory holds only the
# connections open at once).
#
# Theory of operation.
# - Connections. Packets are matched to a connection by their directed 4-tuple (both
#   directions are entered in one table). The client is the side that sent the SYN (or
#   received the SYN-ACK); without either (the capture started mid-connection) the side
#   with the higher port is the client — clients use ephemeral ports, servers
#   well-known or configured ones — and on equal ports the side that sent first.
# - Bytes. Each direction expects the byte after its SYN (or, without a SYN, starts at
#   the first data byte seen). A segment starting there is delivered at once (the fast
#   path). A segment wholly before it is a retransmission or duplicate and is dropped
#   (counted). Overlaps are resolved "first copy wins": bytes already delivered or
#   already held are never replaced by a later copy; only the new tail of an
#   overlapping segment is used. A segment beyond the expected byte is held until the
#   hole fills. A hole that never fills (the connection ended, or the capture did) is a
#   gap: reported in TcpPhases.gaps and the problems, and the bytes after it are kept.
#   A packet the capture cut short (snap length) delivers what it holds and reports
#   the rest as a gap at once.
# - Segments. Delivered bytes are merged into direction-alternating Segments stamped
#   with the capture time of their first packet.
# - Phases. SYN, SYN-ACK and the client's first ACK after it give the handshake; the
#   first and last new payload bytes the transfer; FINs and RST the close (TcpPhases).
# - End. A connection is handed over when a RST is seen, or when both sides sent FIN
#   and no hole is pending. Its 4-tuple is remembered for CLOSED_MEMORY seconds of
#   capture time so that the last ACKs and retransmitted FINs are not taken for a new
#   connection; a new SYN (client to server, no ACK) on a used 4-tuple starts a new
#   connection (port reuse). A connection silent for IDLE_SECONDS of capture time is
#   handed over as seen, still open (expire(), called by the pipeline now and then), so
#   abandoned connections do not pile up in a long capture; a later packet of it starts
#   a connection seen from its middle. A half-open connection (a SYN or SYN-ACK seen, no
#   handshake completed and no data: what a SYN flood leaves) is handed over much
#   sooner, after HALF_OPEN_SECONDS without a packet, and at most MAX_HALF_OPEN are held
#   at once (the oldest is handed over when one more comes), so a flood cannot fill
#   memory. Connections still open when the capture ends are handed over then, in order
#   of their first packet.
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from labctl.analysis.packet_decode import ACK, FIN, RST, SYN, TcpPacket
from labctl.analysis.results import Endpoint, Segment, TcpPhases
from labctl.analysis.tcp_connection import Connection, Side, deliver_slow, finish_phases

CLOSED_MEMORY = 120.0  # seconds of capture time a closed 4-tuple is remembered (2 MSL)
IDLE_SECONDS = 900.0  # of capture time without a packet: handed over still open
HALF_OPEN_SECONDS = 75.0  # the same for a connection whose handshake never completed
MAX_HALF_OPEN = 10_000  # half-open connections held at once
MASK = 0xFFFFFFFF
Key = tuple[str, int, str, int]


@dataclass
class TcpStream:
    """One reassembled connection (TCP, or a UDP flow: `transport`)."""

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
    phases: TcpPhases = field(default_factory=TcpPhases)
    transport: str = "tcp"
    first_packet: int = 0  # number of its first packet in the capture


class TcpConnections:
    """The connections open at one point of a capture; `feed` packets in capture order."""

    def __init__(self, max_half_open: int = MAX_HALF_OPEN) -> None:
        self.table: dict[Key, tuple[Connection, bool]] = {}  # directed 4-tuple → (, from client)
        self.closed: dict[Key, float] = {}  # recently closed 4-tuples → time closed
        self.half_open: dict[Connection, None] = {}  # by first packet, oldest first
        self.max_half_open = max_half_open

    def feed(self, packet: TcpPacket) -> TcpStream | None:
        """Account for one packet; the stream of a connection it ended (or displaced)."""
        _, timestamp, src, sport, dst, dport, seq, _, flags, payload, _, missing = packet
        key = (src, sport, dst, dport)
        entry = self.table.get(key)
        if entry is None:
            if key in self.closed and not (flags & SYN and not flags & ACK):
                return None  # the last ACK or a retransmission after the close
            ended = self._open(key, packet)
            if ended is not None:  # its first packet closed it: a lone RST, say
                return ended
            if len(self.half_open) > self.max_half_open:
                oldest = next(iter(self.half_open))
                oldest.problems.append(f"handed over half-open: more than {self.max_half_open} "
                                       "connections without a completed handshake at once")
                return self._close(oldest)
            return None
        connection, from_client = entry
        if flags & SYN and not flags & ACK and from_client and connection.reused_by(packet):
            ended = self._close(connection)
            self._open(key, packet)
            return ended
        connection.end = timestamp
        connection.packets += 1
        if flags & (SYN | FIN | RST) or connection.ack is None:
            connection.control(packet, from_client)
            if connection.ack is not None or payload:
                self.half_open.pop(connection, None)
        if payload:
            side = connection.sides[from_client]
            if seq == side.next_seq and not missing:
                size = len(payload)
                side.next_seq = (seq + size) & MASK
                side.delivered += size
                connection.deliver(from_client, payload, timestamp)
                if side.pending:
                    side.flush(connection, from_client)
            else:
                deliver_slow(connection, side, from_client, packet)
        if connection.closing and connection.over():
            return self._close(connection)
        return None

    def _open(self, key: Key, packet: TcpPacket) -> TcpStream | None:
        flags = packet.flags
        if flags & SYN:
            client_first = not flags & ACK
        else:
            client_first = packet.sport > packet.dport or packet.sport == packet.dport
        reverse = (packet.dst, packet.dport, packet.src, packet.sport)
        client_key = key if client_first else reverse
        connection = Connection(Endpoint(client_key[0], client_key[1]),
                                Endpoint(client_key[2], client_key[3]),
                                packet.number, packet.timestamp)
        if not flags & SYN:
            connection.problems.append("no SYN seen (capture started mid-connection): client "
                                       "taken to be the side with the higher port")
        else:
            self.half_open[connection] = None
        connection.keys = (key, reverse)
        self.table[key] = (connection, client_first)
        self.table[reverse] = (connection, not client_first)
        self.closed.pop(key, None)
        self.closed.pop(reverse, None)
        return self.feed(packet)

    def _close(self, connection: Connection) -> TcpStream:
        self.half_open.pop(connection, None)
        now = connection.end
        for key in connection.keys:
            self.table.pop(key, None)
            self.closed[key] = now
        while self.closed:
            oldest = next(iter(self.closed))
            if self.closed[oldest] >= now - CLOSED_MEMORY:
                break
            del self.closed[oldest]
        return stream_of(connection)

    def expire(self, now: float) -> list[TcpStream]:
        """Hand over the connections without a packet for IDLE_SECONDS before `now`, and
        the half-open ones without a packet for HALF_OPEN_SECONDS."""
        idle = {id(c): c for c, _ in self.table.values() if now - c.end > IDLE_SECONDS}
        idle.update((id(c), c) for c in self.half_open if now - c.end > HALF_OPEN_SECONDS)
        streams = []
        for connection in sorted(idle.values(), key=lambda c: c.number):
            if connection in self.half_open:
                connection.problems.append(
                    f"no handshake completed and no packet for {HALF_OPEN_SECONDS:.0f}s of "
                    "capture time: handed over half-open")
            else:
                connection.problems.append(f"no packet for {IDLE_SECONDS:.0f}s of capture "
                                           "time: analysed as seen so far (still open)")
            streams.append(self._close(connection))
        return streams

    def finish(self) -> list[TcpStream]:
        """Hand over every connection still open (the capture ended), by first packet."""
        open_connections = {id(c): c for c, _ in self.table.values()}.values()
        streams = [stream_of(c) for c in sorted(open_connections, key=lambda c: c.number)]
        self.table.clear()
        self.half_open.clear()
        return streams


def stream_of(connection: Connection) -> TcpStream:
    """The finished stream of a connection: pending holes become gaps."""
    for from_client in (True, False):
        side: Side = connection.sides[from_client]
        side.drain(connection, from_client)
    phases = finish_phases(connection)
    return TcpStream(
        connection.client, connection.server, connection.finish_segments(),
        handshake=phases.handshake_complete,
        closed=phases.close != "open",
        client_fin=connection.fin_time[True] is not None,
        server_fin=connection.fin_time[False] is not None,
        reset=connection.reset is not None,
        start=connection.start, end=connection.end, packets=connection.packets,
        retransmissions=connection.retransmissions, problems=connection.finish_problems(),
        phases=phases, first_packet=connection.number,
    )


def iter_tcp_streams(packets: Iterable[TcpPacket]) -> Iterator[TcpStream]:
    """Each connection of `packets` once it is over; those still open at the end last."""
    connections = TcpConnections()
    for packet in packets:
        ended = connections.feed(packet)
        if ended is not None:
            yield ended
    yield from connections.finish()


def reassemble(packets: Iterable[TcpPacket]) -> list[TcpStream]:
    """Every TCP connection of `packets`, reassembled, in order of first appearance."""
    return sorted(iter_tcp_streams(packets), key=lambda stream: stream.first_packet)
