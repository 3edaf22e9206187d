# The mail server's DNS client against real name servers on loopback: the answer to its
# own query only, TCP when the UDP answer is truncated, and clear failures otherwise.
from __future__ import annotations

import asyncio
import re
import socket
import threading
from collections.abc import Iterator

import dns.message
import pytest

from labctl.model.zone import ResourceRecord, Zone
from roles.dns.responder import Responder
from roles.dns.server import DnsServer
from roles.mailserver.lab_dns import DnsUnavailable, LabDns
from tests.roles.conftest import DNS_HOST, SENDER_INTERNET

BIG = Zone(("big.test",), (
    ResourceRecord("big.test", "SOA", "ns.big.test. hostmaster.big.test. 1 1 1 1 1"),
    *(ResourceRecord("big.test", "TXT", f'"{n:03} {"x" * 60}"') for n in range(20)),
))


async def test_a_truncated_udp_answer_is_asked_again_over_tcp() -> None:
    server = DnsServer(Responder(BIG), DNS_HOST, 0)
    await server.start()
    try:
        answer = await LabDns(server.address, SENDER_INTERNET).query("big.test", "TXT")
    finally:
        await server.stop()
    assert answer.rcode == "NOERROR" and len(answer.records) == 20


@pytest.fixture
def noisy_server() -> Iterator[tuple[str, int]]:
    """A name server that first sends garbage and an answer to another query, then the
    real answer: the client must wait for the one that answers its own query."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((DNS_HOST, 0))
    responder = Responder(BIG)

    def serve() -> None:
        query, client = sock.recvfrom(4096)
        sock.sendto(b"\x00garbage", client)
        other = dns.message.make_query("big.test", "TXT")
        wrong, _ = responder.respond(other.to_wire(), over_udp=True)
        assert wrong is not None
        sock.sendto(wrong, client)
        right, _ = responder.respond(query, over_udp=True)
        assert right is not None
        sock.sendto(right, client)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield sock.getsockname()
    thread.join(10)
    sock.close()


async def test_noise_and_answers_to_other_queries_are_ignored(
        noisy_server: tuple[str, int]) -> None:
    answer = await LabDns(noisy_server, SENDER_INTERNET).query("big.test", "SOA")
    assert answer.rcode == "NOERROR" and answer.records[0].startswith("ns.big.test.")


async def test_a_silent_server_is_unavailable_after_the_timeout() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind((DNS_HOST, 0))
        client = LabDns(silent.getsockname(), SENDER_INTERNET, timeout=0.2)
        expected = re.escape("did not answer big.test MX within 0.2s")
        with pytest.raises(DnsUnavailable, match=expected):
            await client.query("big.test", "MX")


async def test_a_port_nobody_listens_on_is_unavailable() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as closed:
        closed.bind((DNS_HOST, 0))
        address = closed.getsockname()
    client = LabDns(address, SENDER_INTERNET, timeout=2.0)
    expected = re.escape(f"the lab's DNS at {DNS_HOST}:{address[1]}")
    with pytest.raises(DnsUnavailable, match=expected):
        await asyncio.wait_for(client.query("big.test", "MX"), 5)
