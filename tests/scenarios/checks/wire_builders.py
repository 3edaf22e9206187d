# Captures made in the tests: TCP connections between lab roles synthesized into pcap
# files (handshake, data, FIN/RST, as labctl.capture writes them) and read back by the
# real analyzer, so each check grades hops the way it grades a lab run. Also the SMTP
# dialogs and messages the check tests send over them.
from __future__ import annotations

import socket
import struct
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Any

from labctl.analysis import Hop, analyze_captures
from labctl.analysis.results import Endpoint
from labctl.capture.packet_build import TcpStreamSynthesizer, ethernet_frame
from labctl.capture.pcap_writer import PcapWriter
from labctl.model import LAB, MGMT, addressing
from labctl.scenarios import Evidence, SentMessage, evaluate, parse_scenario
from labctl.scenarios.schema import Scenario

PLAN = addressing("compose")
PORTS = {"SMTP": 25, "POP3": 110, "IMAP": 143, "HTTP": 80}
T0 = 1_700_000_000.0
Exchange = tuple[bool, bytes]  # (from the client, the bytes on the wire)


@dataclass
class Wire:
    """One TCP connection to put in a capture, as the lecture draws it."""

    client: str  # the role that opens it
    server: str
    exchanges: list[Exchange]
    port: int = 25
    handshake: bool = True  # False: the capture starts after the SYN
    close: str = "fin"  # fin | half (the client's FIN only) | rst | open (no close at all)


@dataclass
class Lookup:
    """One DNS exchange over UDP (a question and its answer, as dnspython wire bytes)."""

    client: str
    server: str
    exchanges: list[Exchange]
    port: int = 53


def _udp_packet(src: Endpoint, dst: Endpoint, payload: bytes) -> bytes:
    """An IPv4 packet holding one UDP datagram (UDP checksum 0: none, as IPv4 allows)."""
    udp = struct.pack(">HHHH", src.port, dst.port, 8 + len(payload), 0) + payload
    header = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64,
                         socket.IPPROTO_UDP, 0, socket.inet_aton(src.ip),
                         socket.inet_aton(dst.ip))
    words = struct.unpack(">10H", header)
    total = sum(words)
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return header[:10] + struct.pack(">H", ~total & 0xFFFF) + header[12:] + udp


def lines(*transcript: str) -> list[Exchange]:
    """"C: ..."/"S: ..." lines as exchanges, each ended by CRLF."""
    return [(line.startswith("C:"), line[3:].encode() + b"\r\n") for line in transcript]


def _network(wire: Wire | Lookup) -> str:
    try:
        return PLAN.shared_network(wire.client, wire.server)
    except KeyError:  # a bypass: captured on the server's first lab network
        return next(n for n in LAB.role(wire.server).networks if n != MGMT)


def _address(role: str, network: str) -> str:
    networks = LAB.role(role).networks
    return PLAN.address(role, network if network in networks else networks[0])


def capture(tmp_path: Path, *wires: Wire | Lookup) -> list[Hop]:
    """Write `wires` (the n-th starting at T0 + 10n s) into one pcap per network and
    analyse them like a run's capture."""
    by_network: dict[str, list[tuple[int, Wire]]] = {}
    for number, wire in enumerate(wires):
        by_network.setdefault(_network(wire), []).append((number, wire))
    pcaps: dict[str, Path] = {}
    for network, numbered in by_network.items():
        pcaps[network] = tmp_path / f"{network}.pcap"
        with PcapWriter(pcaps[network]) as sink:
            for number, wire in numbered:
                start = T0 + number * 10
                client = Endpoint(_address(wire.client, network), 40000 + number)
                server = Endpoint(_address(wire.server, network), wire.port)
                if isinstance(wire, Lookup):
                    for step, (from_client, data) in enumerate(wire.exchanges):
                        ends = (client, server) if from_client else (server, client)
                        packet = _udp_packet(*ends, data)
                        sink.write_packet(start + step * 0.01,
                                          ethernet_frame(ends[0].ip, ends[1].ip, packet))
                    continue
                tcp = TcpStreamSynthesizer(sink, client, server)
                if wire.handshake:
                    tcp.handshake(start)
                for step, (from_client, data) in enumerate(wire.exchanges, 1):
                    tcp.data(from_client, data, start + step * 0.01)
                end = start + 9
                if wire.close == "fin":
                    tcp.close(end)
                elif wire.close == "half":
                    tcp.fin(True, end)
                elif wire.close == "rst":
                    tcp.reset(True, end)
    return analyze_captures(pcaps, PLAN)


def compose(subject: str = "Dinner", body: str = "Hi Bob,\n\nTonight?\n",
            message_id: str = "<1@crepes.fr>", **headers: str) -> bytes:
    """The message Alice's user agent composes (CRLF line endings)."""
    message = EmailMessage()
    message["From"] = headers.pop("From", "alice@crepes.fr")
    message["To"] = headers.pop("To", "bob@hamburger.edu")
    message["Subject"] = subject
    message["Date"] = formatdate(T0)
    message["Message-ID"] = message_id
    for name, value in headers.items():
        message[name] = value
    message.set_content(body)
    return bytes(message).replace(b"\n", b"\r\n")


def smtp(*messages: bytes, mail_from: str = "alice@crepes.fr",
         rcpt_to: tuple[str, ...] = ("bob@hamburger.edu",)) -> list[Exchange]:
    """A whole SMTP dialog carrying `messages` over one connection, each reply awaited."""
    wire = lines("S: 220 mail.hamburger.edu ESMTP", "C: EHLO crepes.fr",
                 "S: 250 mail.hamburger.edu")
    for message in messages:
        wire += lines(f"C: MAIL FROM:<{mail_from}>", "S: 250 ok")
        for rcpt in rcpt_to:
            wire += lines(f"C: RCPT TO:<{rcpt}>", "S: 250 ok")
        wire += lines("C: DATA", "S: 354 go ahead")
        stuffed = message.replace(b"\r\n.", b"\r\n..")
        wire += [(True, stuffed + b".\r\n"), *lines("S: 250 queued")]
    return wire + lines("C: QUIT", "S: 221 bye")


@dataclass
class Grader:
    """A scenario's checks graded on hops, with the messages its send steps sent."""

    scenario: Scenario
    sent: dict[int, SentMessage] = field(default_factory=dict)

    def grade(self, hops: list[Hop], index: int = 0) -> Any:
        """The result of checks[index] on `hops`."""
        return evaluate(self.scenario.checks[index], Evidence(self.scenario, hops, self.sent))


def grader(checks: str, *sent: bytes) -> Grader:
    """A scenario of one send step per message in `sent` (at least one) and `checks`."""
    steps = "".join(f"  - send: {{to: bob@hamburger.edu, subject: s{i}, body: b}}\n"
                    for i in range(max(len(sent), 1)))
    scenario = parse_scenario(f"name: t\nsteps:\n{steps}checks:\n{checks}", "test")
    return Grader(scenario, {
        i: SentMessage(message_id="1@crepes.fr", raw=raw, from_address="alice@crepes.fr",
                       to_address="bob@hamburger.edu") for i, raw in enumerate(sent)})
