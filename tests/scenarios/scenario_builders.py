# Builders shared by the scenario tests: analysed hops and conversations made by hand.
# (A plain module, not conftest, so that importing it never picks another conftest.)
from __future__ import annotations

from pathlib import Path

from labctl.analysis.dialogs import build_dialog
from labctl.analysis.results import CLOSE_FIN, Conversation, Endpoint, Hop, Segment, TcpPhases
from labctl.model import LAB, addressing

DATA = Path(__file__).resolve().parent.parent / "data" / "scenarios"
PORTS = {"SMTP": 25, "POP3": 110, "IMAP": 143, "HTTP": 80}
PLAN = addressing("compose")


def segments(transcript: list[str]) -> list[Segment]:
    """The bytes on the wire behind "C: ..."/"S: ..." lines, one segment per line."""
    return [
        Segment(line.startswith("C:"), line[3:].encode() + b"\r\n", float(i))
        for i, line in enumerate(transcript)
    ]


def conversation(
    client_role: str, server_role: str, protocol: str, transcript: list[str] | None = None
) -> Conversation:
    """A conversation between two lab roles, as the analyzer would report it."""
    network = PLAN.shared_network(client_role, server_role)
    lines = list(transcript or [])
    return Conversation(
        client=Endpoint(PLAN.address(client_role, network), 40000),
        server=Endpoint(PLAN.address(server_role, network), PORTS.get(protocol, 25)),
        network=network,
        protocol=protocol,
        client_role=client_role,
        server_role=server_role,
        segments=segments(lines),
        transcript=lines,
        handshake=True,
        closed=True,
        phases=TcpPhases(syn=0.0, syn_ack=0.0, ack=0.0, first_data=0.0,
                         last_data=float(len(lines)), close=CLOSE_FIN, closed_by_client=True,
                         close_time=float(len(lines)), seen_from_start=True),
        dialog=build_dialog(protocol, segments(lines)),
    )


def hop(hop_name: str, *conversations: Conversation) -> Hop:
    """A hop named "client -> server" holding `conversations`."""
    client, _, server = hop_name.partition(" -> ")
    link = LAB.link_between(client, server)
    network = link.network if link else PLAN.shared_network(client, server)
    return Hop(client, server, network, f"captures/{network}.pcap", list(conversations))


def stuffed_lines(message: bytes) -> list[str]:
    """A message's lines as a POP3/SMTP server sends them (leading dots doubled)."""
    lines = message.decode().replace("\r\n", "\n").rstrip("\n").split("\n")
    return ["." + line if line.startswith(".") else line for line in lines]


def fetch_transcript(protocol: str, messages: list[bytes], delete: bool = False) -> list[str]:
    """The dialog of a user agent downloading `messages` over POP3 (RETR, then DELE with
    `delete`) or IMAP (FETCH)."""
    if protocol == "POP3":
        out = ["S: +OK ready", "C: USER bob", "S: +OK", "C: PASS pw", "S: +OK"]
        for number, message in enumerate(messages, 1):
            out += [f"C: RETR {number}", "S: +OK", *(f"S: {line}" for line in
                                                     stuffed_lines(message)), "S: ."]
            out += [f"C: DELE {number}", "S: +OK"] if delete else []
        return [*out, "C: QUIT", "S: +OK bye"]
    out = ["S: * OK ready", "C: a1 LOGIN bob pw", "S: a1 OK done", "C: a2 SELECT INBOX",
           f"S: * {len(messages)} EXISTS", "S: a2 OK done"]
    for number, message in enumerate(messages, 1):
        lines = message.decode().replace("\r\n", "\n").rstrip("\n").split("\n")
        size = sum(len(line.encode()) + 2 for line in lines)
        out += [f"C: a{number + 2} FETCH {number} BODY[]",
                f"S: * {number} FETCH (BODY[] {{{size}}}", *(f"S: {line}" for line in lines),
                "S: )", f"S: a{number + 2} OK done"]
    return [*out, "C: a0 LOGOUT", "S: * BYE", "S: a0 OK done"]
