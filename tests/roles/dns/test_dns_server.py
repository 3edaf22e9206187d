# The name server on real sockets: dnspython and dig ask over UDP and TCP, several
# queries share one TCP connection, and noise gets no answer without stopping it. The
# server is the lab_dns fixture: the test lab's zone, at the test lab's dns address.
from __future__ import annotations

import asyncio
import socket
import struct
import subprocess

import dns.asyncquery
import dns.message
import dns.rcode
import pytest

from roles.dns.server import DnsServer
from tests.peers.tools import require_tool
from tests.roles.conftest import DNS_HOST, RECEIVER_INTERNET, SENDER_INTERNET


async def test_udp_and_tcp_answer_on_the_same_port(lab_dns: DnsServer) -> None:
    host, port = lab_dns.address
    query = dns.message.make_query("hamburger.edu", "MX")
    over_udp = await dns.asyncquery.udp(query, host, port=port, timeout=5)
    over_tcp = await dns.asyncquery.tcp(query, host, port=port, timeout=5)
    for response in (over_udp, over_tcp):
        assert response.rcode() == dns.rcode.NOERROR
        assert [r.to_text() for r in response.answer[0]] == ["10 mail.hamburger.edu."]


def _two_queries_on_one_connection(host: str, port: int) -> list[dns.message.Message]:
    answers = []
    with socket.create_connection((host, port), timeout=5) as sock:
        stream = sock.makefile("rb")
        for name in ("mail.crepes.fr", "mail.hamburger.edu"):
            wire = dns.message.make_query(name, "A").to_wire()
            sock.sendall(struct.pack("!H", len(wire)) + wire)
            (size,) = struct.unpack("!H", stream.read(2))
            answers.append(dns.message.from_wire(stream.read(size)))
    return answers


async def test_several_queries_share_one_tcp_connection(lab_dns: DnsServer) -> None:
    answers = await asyncio.to_thread(_two_queries_on_one_connection, *lab_dns.address)
    assert [a.answer[0][0].to_text() for a in answers] == [SENDER_INTERNET, RECEIVER_INTERNET]


async def test_noise_gets_no_answer_and_the_server_keeps_answering(lab_dns: DnsServer) -> None:
    host, port = lab_dns.address
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(b"hello", (host, port))
    query = dns.message.make_query("crepes.fr", "TXT")
    response = await dns.asyncquery.udp(query, host, port=port, timeout=5)
    assert response.answer[0][0].to_text() == '"v=spf1 mx -all"'


@pytest.mark.parametrize("transport", ["+notcp", "+tcp"])
async def test_dig_reads_the_answers(lab_dns: DnsServer, transport: str) -> None:
    require_tool("dig")
    host, port = lab_dns.address
    result = await asyncio.to_thread(subprocess.run, [
        "dig", f"@{host}", "-p", str(port), transport, "+norecurse", "hamburger.edu", "MX",
    ], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert "status: NOERROR" in result.stdout and " aa" in result.stdout
    assert "MX\t10 mail.hamburger.edu." in result.stdout
    refused = await asyncio.to_thread(subprocess.run, [
        "dig", f"@{host}", "-p", str(port), transport, "www.example.com", "A",
    ], capture_output=True, text=True, timeout=30)
    assert "status: REFUSED" in refused.stdout


async def test_a_fixed_port_that_is_taken_is_an_error(lab_dns: DnsServer) -> None:
    second = DnsServer(lab_dns.responder, DNS_HOST, lab_dns.address[1])
    with pytest.raises(OSError):
        await second.start()
