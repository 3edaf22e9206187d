# Builders shared by the scenario tests: analysed hops and conversations made by hand.
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from labctl.analysis.results import Conversation, Endpoint, Hop, Segment
from labctl.model import LAB, addressing

DATA = Path(__file__).resolve().parent.parent / "data" / "scenarios"
PORTS = {"SMTP": 25, "POP3": 110, "IMAP": 143, "HTTP": 80}
PLAN = addressing("compose")

MakeConversation = Callable[..., Conversation]
MakeHop = Callable[..., Hop]


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
        segments=[Segment(line.startswith("C:"), line[3:].encode() + b"\r\n", 0.0)
                  for line in lines],
        transcript=lines,
        handshake=True,
        closed=True,
    )


def hop(hop_name: str, *conversations: Conversation) -> Hop:
    """A hop named "client -> server" holding `conversations`."""
    client, _, server = hop_name.partition(" -> ")
    link = LAB.link_between(client, server)
    network = link.network if link else PLAN.shared_network(client, server)
    return Hop(client, server, network, f"captures/{network}.pcap", list(conversations))


@pytest.fixture
def data_dir() -> Path:
    return DATA


@pytest.fixture
def server_dialog() -> list[str]:
    """A complete server-to-server SMTP transcript (multi-line EHLO reply, data lines)."""
    return (DATA / "smtp-server-dialog.txt").read_text().splitlines()
