# The SPF evaluator against a real name server in-process: the lab's own policy
# ("v=spf1 mx -all") and a zone with the other mechanisms, qualifiers and limits.
from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest

from labctl.model.zone import ResourceRecord, Zone
from roles.dns.responder import Responder
from roles.dns.server import DnsServer
from roles.mailserver.lab_dns import LabDns
from roles.mailserver.spf import check_host
from tests.roles.conftest import DNS_HOST, MALLORY, SENDER_INTERNET

POLICIES = {
    "ip.test": "v=spf1 ip4:192.0.2.0/24 ip4:198.51.100.7 -all",
    "a.test": "v=spf1 a a:mail.a.test/24 ~all",
    "mx.test": "v=spf1 mx:a.test ?all",
    "include.test": "v=spf1 include:ip.test -all",
    "redirect.test": "v=spf1 redirect=ip.test",
    "neutral.test": "v=spf1 ip4:192.0.2.1",
    "two.test": "v=spf1 -all",
    "unknown.test": "v=spf1 foo:bar -all",
    "macro.test": "v=spf1 exists:%{i}.bl.test -all",
    "loop.test": "v=spf1 include:loop.test -all",
    "void.test": "v=spf1 a:no1.void.test a:no2.void.test a:no3.void.test -all",
    "ipv6.test": "v=spf1 ip6:2001:db8::/32 -all",
}


@pytest.fixture
async def spf_dns() -> AsyncIterator[LabDns]:
    records = [ResourceRecord("test", "SOA", "ns.test. h.test. 1 1 1 1 1")]
    records += [ResourceRecord(name, "TXT", f'"{text}"') for name, text in POLICIES.items()]
    records += [
        ResourceRecord("two.test", "TXT", '"v=spf1 +all"'),
        ResourceRecord("a.test", "A", "203.0.113.5"),
        ResourceRecord("mail.a.test", "A", "203.0.113.130"),
        ResourceRecord("a.test", "MX", "10 mail.a.test."),
        ResourceRecord("notspf.test", "TXT", '"google-site-verification=xyz"'),
    ]
    server = DnsServer(Responder(Zone(("test",), tuple(records))), DNS_HOST, 0)
    await server.start()
    yield LabDns(server.address, timeout=0.5)
    await server.stop()


@pytest.mark.parametrize(("ip", "domain", "result"), [
    ("192.0.2.200", "ip.test", "pass"),
    ("198.51.100.7", "ip.test", "pass"),
    ("198.51.100.8", "ip.test", "fail"),
    ("203.0.113.5", "a.test", "pass"),
    ("203.0.113.140", "a.test", "pass"),  # a:mail.a.test/24
    ("203.0.114.1", "a.test", "softfail"),
    ("203.0.113.130", "mx.test", "pass"),  # mx:a.test -> mail.a.test
    ("203.0.113.5", "mx.test", "neutral"),
    ("192.0.2.9", "include.test", "pass"),
    ("10.0.0.1", "include.test", "fail"),
    ("192.0.2.9", "redirect.test", "pass"),
    ("10.0.0.1", "redirect.test", "fail"),
    ("10.0.0.1", "neutral.test", "neutral"),
    ("10.0.0.1", "notspf.test", "none"),
    ("10.0.0.1", "nothing.test", "none"),
    ("10.0.0.1", "gmail.com", "none"),  # outside the lab: the lab's DNS refuses
    ("10.0.0.1", "two.test", "permerror"),
    ("10.0.0.1", "unknown.test", "permerror"),
    ("10.0.0.1", "macro.test", "permerror"),
    ("10.0.0.1", "loop.test", "permerror"),
    ("10.0.0.1", "void.test", "permerror"),
    ("10.0.0.1", "ipv6.test", "fail"),
    ("10.0.0.1", "mallory", "none"),  # a HELO name that is no domain
])
async def test_mechanisms_and_qualifiers(spf_dns: LabDns, ip: str, domain: str,
                                         result: str) -> None:
    assert (await check_host(spf_dns, ip, domain)).result == result


async def test_result_says_which_term_matched(spf_dns: LabDns) -> None:
    found = await check_host(spf_dns, "198.51.100.8", "IP.test.")
    assert (found.domain, found.reason) == ("ip.test", "ip.test: matched -all")


async def test_the_lab_policy_passes_the_mx_and_fails_anyone_else(lab_dns: DnsServer) -> None:
    resolver = LabDns(lab_dns.address)
    assert (await check_host(resolver, SENDER_INTERNET, "crepes.fr")).result == "pass"
    mallory = await check_host(resolver, MALLORY, "crepes.fr")
    assert (mallory.result, mallory.reason) == ("fail", "crepes.fr: matched -all")


async def test_a_silent_name_server_is_a_temporary_error() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind((DNS_HOST, 0))
        found = await check_host(LabDns(silent.getsockname(), timeout=0.3), "10.0.0.1",
                                 "crepes.fr")
    assert found.result == "temperror" and "did not answer" in found.reason
