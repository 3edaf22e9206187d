# What traffic analysis produces: conversations (one per TCP connection) grouped into
# hops. These plain dataclasses are the contract between the analyzer, the scenario
# checks and the reports; the JSON report is built from them.
from __future__ import annotations

from dataclasses import dataclass, field


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

    @property
    def protocols(self) -> list[str]:
        seen: list[str] = []
        for conversation in self.conversations:
            if conversation.protocol not in seen:
                seen.append(conversation.protocol)
        return seen
