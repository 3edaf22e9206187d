# What traffic analysis produces: conversations (one per TCP connection) grouped into
# hops. These plain dataclasses are the contract between the analyzer, the scenario
# checks and the reports; the JSON report is built from them.
from __future__ import annotations

from dataclasses import dataclass, field

from labctl.analysis.dialog import Dialog

# How a TCP connection ended, as the lecture draws it
CLOSE_FIN = "fin"  # both sides sent FIN
CLOSE_HALF = "half-closed"  # one side sent FIN, the other never did (in this capture)
CLOSE_RST = "rst"  # a RST ended it
CLOSE_OPEN = "open"  # no FIN or RST seen: still open when the capture stopped


@dataclass(frozen=True)
class Endpoint:
    ip: str
    port: int

    def __str__(self) -> str:
        return f"{self.ip}:{self.port}"


@dataclass(frozen=True)
class Segment:
    """A run of reassembled payload bytes sent in one direction, in capture order."""

    from_client: bool
    data: bytes
    timestamp: float


@dataclass(frozen=True)
class TcpPhases:
    """The TCP phases of one connection: three-way handshake, transfer, close."""

    syn: float | None = None  # capture time of the client's SYN
    syn_ack: float | None = None  # of the server's SYN-ACK
    ack: float | None = None  # of the client's ACK that completes the handshake
    first_data: float | None = None  # first payload byte either way
    last_data: float | None = None
    close: str = CLOSE_OPEN  # CLOSE_FIN | CLOSE_HALF | CLOSE_RST | CLOSE_OPEN
    closed_by_client: bool | None = None  # who sent the first FIN (or the RST)
    close_time: float | None = None  # the last FIN (or the RST)
    seen_from_start: bool = False  # the SYN is in the capture
    gaps: tuple[str, ...] = ()  # bytes missing from the capture, e.g. "client 1460 at 2920"

    @property
    def handshake_complete(self) -> bool:
        """SYN, SYN-ACK and ACK are all in the capture."""
        return None not in (self.syn, self.syn_ack, self.ack)

    @property
    def handshake_seconds(self) -> float | None:
        """SYN to the ACK that completes the handshake."""
        if self.syn is None or self.ack is None:
            return None
        return self.ack - self.syn

    @property
    def closed_by(self) -> str | None:
        """"client" or "server": who sent the first FIN (or the RST); None while open."""
        if self.closed_by_client is None:
            return None
        return "client" if self.closed_by_client else "server"

    @property
    def duration_seconds(self) -> float | None:
        """The SYN (else the first data) to the close (else the last data)."""
        begin = self.syn if self.syn is not None else self.first_data
        finish = self.close_time if self.close_time is not None else self.last_data
        return None if begin is None or finish is None else finish - begin

    @property
    def partial(self) -> bool:
        """Seen only in part: started before the capture, ended after it, or has gaps."""
        return not self.seen_from_start or self.close == CLOSE_OPEN or bool(self.gaps)


@dataclass
class Conversation:
    """One TCP connection as reassembled from a capture."""

    client: Endpoint
    server: Endpoint
    network: str  # the capture (pcap) it was seen in
    protocol: str  # SMTP | POP3 | IMAP | HTTP | unknown (identified from the bytes)
    client_role: str | None  # the lab role owning the client address (None: not a lab host)
    server_role: str | None
    segments: list[Segment] = field(default_factory=list)
    transcript: list[str] = field(default_factory=list)  # "C: ..." / "S: ..." lines
    handshake: bool = False  # SYN, SYN-ACK, ACK all seen
    closed: bool = False  # FIN or RST seen
    start: float = 0.0
    end: float = 0.0
    problems: list[str] = field(default_factory=list)  # e.g. missing segments, bad lines
    transport: str = "tcp"  # "tcp" | "udp" (DNS)
    phases: TcpPhases = field(default_factory=TcpPhases)  # TCP only
    dialog: Dialog | None = None  # what the protocol layer read (dialog.py)

    def tcp_phases(self) -> TcpPhases | None:
        """The TCP phases as reported: None over UDP and while they are not analysed."""
        return self.phases if self.transport == "tcp" and self.phases != TcpPhases() else None

    def client_bytes(self) -> bytes:
        return b"".join(s.data for s in self.segments if s.from_client)

    def server_bytes(self) -> bytes:
        return b"".join(s.data for s in self.segments if not s.from_client)


@dataclass
class Hop:
    """All conversations between one client role and one server role."""

    client_role: str | None
    server_role: str | None
    network: str
    pcap: str
    conversations: list[Conversation] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # about the capture file itself
    comments: list[str] = field(default_factory=list)  # the capture file's own comments
    incomplete: bool = False  # only part of the capture file could be analysed

    @property
    def protocols(self) -> list[str]:
        seen: list[str] = []
        for conversation in self.conversations:
            if conversation.protocol not in seen:
                seen.append(conversation.protocol)
        return seen
