# The state of one TCP connection during reassembly (tcp_reassembly.py explains the
# rules): per direction the next expected byte and the segments held behind a hole;
# per connection the Segments built so far, the handshake and close times, problems.
# Plain classes with __slots__: this is touched once per packet.
from __future__ import annotations

from labctl.analysis.packet_decode import ACK, FIN, RST, SYN, TcpPacket
from labctl.analysis.results import (
    CLOSE_FIN,
    CLOSE_HALF,
    CLOSE_OPEN,
    CLOSE_RST,
    Endpoint,
    Segment,
    TcpPhases,
)

MASK = 0xFFFFFFFF
HALF = 1 << 31
NAMES = {True: "client", False: "server"}


class Side:
    """Reassembly state of one direction of a connection."""

    __slots__ = ("delivered", "next_seq", "origin", "pending")

    def __init__(self) -> None:
        self.next_seq: int | None = None  # sequence number of the next byte expected
        self.origin = 0  # sequence number of stream offset 0
        self.delivered = 0  # stream offset of that byte (bytes delivered + gaps)
        self.pending: dict[int, tuple[bytes, float, int]] = {}  # offset → (data, time, cut)

    def hold(self, offset: int, data: bytes, timestamp: float, missing: int) -> bool:
        """Keep a segment that lies beyond a hole (a copy already held wins); False when
        it brought nothing new."""
        while data or missing:
            held = self.pending.get(offset)
            if held is None:
                self.pending[offset] = (data, timestamp, missing)
                return True
            size = len(held[0]) + held[2]
            if size >= len(data) + missing:
                return False
            cut = min(size, len(data))
            offset, data, missing = offset + size, data[cut:], max(0, missing - (size - cut))
        return False

    def flush(self, connection: Connection, from_client: bool) -> None:
        """Deliver the held segments the stream has reached."""
        pending = self.pending
        while pending:
            offset = min(pending)
            if offset > self.delivered:
                return
            data, timestamp, missing = pending.pop(offset)
            end = offset + len(data)
            if end > self.delivered:
                connection.deliver(from_client, data[self.delivered - offset :], timestamp)
                self.delivered = end
            if missing and end + missing > self.delivered:
                connection.gap(from_client, self.delivered, end + missing - self.delivered,
                               "cut by the capture's snap length")
                self.delivered = end + missing
            self.next_seq = (self.origin + self.delivered) & MASK

    def drain(self, connection: Connection, from_client: bool) -> None:
        """The connection is over: holes that never filled become gaps."""
        while self.pending:
            offset = min(self.pending)
            if offset > self.delivered:
                connection.gap(from_client, self.delivered, offset - self.delivered,
                               "never captured")
                self.delivered = offset
            self.flush(connection, from_client)


class Connection:
    """Everything known about one connection while its packets are read."""

    __slots__ = ("ack", "client", "closed_by_client", "closing", "cut_packets", "end",
                 "fin_time", "first_data", "gaps", "keys", "last_data", "number", "packets",
                 "problems", "reset", "retransmissions", "run", "run_side", "run_time",
                 "segments", "server", "sides", "start", "syn", "syn_ack", "syn_seq")

    def __init__(self, client: Endpoint, server: Endpoint, number: int, start: float) -> None:
        self.client, self.server, self.number = client, server, number
        self.start = self.end = start
        self.packets = self.retransmissions = self.cut_packets = 0
        self.problems: list[str] = []
        self.sides = (Side(), Side())  # indexed by from_client: server's, client's
        self.keys: tuple[tuple[str, int, str, int], ...] = ()
        self.segments: list[Segment] = []
        self.run: list[bytes] = []
        self.run_side: bool | None = None
        self.run_time = 0.0
        self.syn: float | None = None
        self.syn_seq: int | None = None
        self.syn_ack: float | None = None
        self.ack: float | None = None
        self.first_data: float | None = None
        self.last_data: float | None = None
        self.fin_time: list[float | None] = [None, None]  # indexed by from_client
        self.reset: float | None = None
        self.closed_by_client: bool | None = None
        self.gaps: list[str] = []
        self.closing = False  # RST, or FIN both ways, seen

    def reused_by(self, syn: TcpPacket) -> bool:
        """A client SYN that starts a new connection on this 4-tuple (port reuse)."""
        if self.syn_seq == syn.seq:
            return False  # a retransmitted SYN
        return (self.first_data is not None or self.reset is not None
                or self.fin_time[True] is not None or self.fin_time[False] is not None)

    def control(self, packet: TcpPacket, from_client: bool) -> None:
        """SYN, SYN-ACK, the handshake's ACK, FIN and RST."""
        flags, timestamp = packet.flags, packet.timestamp
        if flags & SYN:
            side = self.sides[from_client]
            if side.next_seq is None or side.delivered == 0:
                side.next_seq = side.origin = (packet.seq + 1) & MASK
            if from_client and not flags & ACK and self.syn is None:
                self.syn, self.syn_seq = timestamp, packet.seq
            elif not from_client and flags & ACK and self.syn_ack is None:
                self.syn_ack = timestamp
        elif flags & ACK and from_client and self.syn_ack is not None and self.ack is None:
            self.ack = timestamp
        if flags & FIN and self.fin_time[from_client] is None:
            self.fin_time[from_client] = timestamp
            if self.closed_by_client is None:
                self.closed_by_client = from_client
            self.closing = self.fin_time[not from_client] is not None
        if flags & RST and self.reset is None:
            self.reset = timestamp
            if self.closed_by_client is None:
                self.closed_by_client = from_client
            self.closing = True

    def over(self) -> bool:
        """A RST was seen, or FIN both ways and no hole waits to be filled."""
        return self.reset is not None or not (self.sides[True].pending
                                              or self.sides[False].pending)

    def new_run(self, from_client: bool, data: bytes, timestamp: float) -> None:
        """Start a Segment in the other direction."""
        self._end_run()
        self.run, self.run_side, self.run_time = [data], from_client, timestamp

    def _end_run(self) -> None:
        run = self.run
        if run:
            data = run[0] if len(run) == 1 else b"".join(run)
            self.segments.append(Segment(bool(self.run_side), data, self.run_time))
            self.run = []

    def deliver(self, from_client: bool, data: bytes, timestamp: float) -> None:
        """Append in-order bytes to the stream."""
        if not data:
            return
        if self.run_side is from_client:
            self.run.append(data)
        else:
            self.new_run(from_client, data, timestamp)
        if self.first_data is None:
            self.first_data = timestamp
        self.last_data = timestamp

    def gap(self, from_client: bool, offset: int, size: int, why: str) -> None:
        """Bytes the capture does not hold: reported, never filled in."""
        who = NAMES[from_client]
        self.gaps.append(f"{who} {size} at {offset}")
        self.problems.append(f"{who} → {NAMES[not from_client]}: {size} byte(s) missing at "
                             f"stream offset {offset} ({why}); later bytes kept after the gap")

    def finish_segments(self) -> list[Segment]:
        """The Segments, the last run included."""
        self._end_run()
        return self.segments

    def finish_problems(self) -> list[str]:
        """The problems, with one summary line for packets cut short."""
        if self.cut_packets:
            self.problems.append(f"{self.cut_packets} packet(s) cut short by the capture's "
                                 "snap length: their missing bytes are reported as gaps")
        return self.problems


def deliver_slow(connection: Connection, side: Side, from_client: bool,
                 packet: TcpPacket) -> None:
    """A segment that is not simply the next expected bytes (see tcp_reassembly.py)."""
    payload, missing = packet.payload, packet.missing
    if missing:
        connection.cut_packets += 1
    if side.next_seq is None:  # no SYN seen: the first data byte starts the stream
        side.next_seq = side.origin = packet.seq
    delta = ((packet.seq - side.next_seq + HALF) & MASK) - HALF
    if delta + len(payload) + missing <= 0:
        connection.retransmissions += 1
        return
    offset = side.delivered + delta
    if delta > 0:
        if not side.hold(offset, payload, packet.timestamp, missing):
            connection.retransmissions += 1
        return
    side.pending[offset] = (payload, packet.timestamp, missing)
    side.flush(connection, from_client)


def finish_phases(connection: Connection) -> TcpPhases:
    """The TcpPhases of a connection whose packets have all been read."""
    fins = [t for t in connection.fin_time if t is not None]
    if connection.reset is not None:
        close, close_time = CLOSE_RST, connection.reset
    elif len(fins) == 2:
        close, close_time = CLOSE_FIN, max(fins)
    elif fins:
        close, close_time = CLOSE_HALF, fins[0]
    else:
        close, close_time = CLOSE_OPEN, None
    return TcpPhases(
        syn=connection.syn, syn_ack=connection.syn_ack, ack=connection.ack,
        first_data=connection.first_data, last_data=connection.last_data, close=close,
        closed_by_client=connection.closed_by_client if close != CLOSE_OPEN else None,
        close_time=close_time, seen_from_start=connection.syn is not None,
        gaps=tuple(connection.gaps),
    )
