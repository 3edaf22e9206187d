# The in-process servers of the role tests live in the test lab: every address the mail
# servers, the lab's name server and the fake receiver bind is on one of TEST_INSTANCE's
# networks and on none of the default lab's, whose captures a running lab would fill.
from __future__ import annotations

import ipaddress
from collections.abc import Iterable

import pytest

from labctl.model import LAB
from roles.dns.server import DnsServer
from tests.conftest import TEST_PLAN
from tests.roles.conftest import StartServer
from tests.socket_watch import DEFAULT_LAB_NETWORKS, SocketWatch, lab_networks

from .fake_receiver import FakeReceiver
from .test_relay_delivery import StartFake, start_fake

__all__ = ["start_fake"]  # the fake receiver fixture of the relay tests
TEST_LAB_NETWORKS = lab_networks([TEST_PLAN])


def assert_in_the_test_lab(addresses: Iterable[tuple[str, int]]) -> None:
    """Each (host, port) is on a test-lab network and on no default-lab one."""
    for host, port in addresses:
        ip = ipaddress.IPv4Address(host)
        assert any(ip in network for network in TEST_LAB_NETWORKS), f"{host}:{port}"
        assert not any(ip in network for network in DEFAULT_LAB_NETWORKS), f"{host}:{port}"


@pytest.mark.parametrize("role", [r.name for r in LAB.mail_servers()])
async def test_mail_servers_bind_test_lab_addresses_only(
        start_server: StartServer, stays_off_the_default_lab: SocketWatch, role: str) -> None:
    server = await start_server(role)
    assert set(server.bound) == {"smtp", "submission", "pop3", "imap", "webmail", "control"}
    bound = [address for addresses in server.bound.values() for address in addresses]
    assert_in_the_test_lab(bound)
    assert_in_the_test_lab(stays_off_the_default_lab.bound)  # and nothing else of theirs


async def test_the_lab_name_server_answers_in_the_test_lab(lab_dns: DnsServer) -> None:
    assert lab_dns.address[0] == TEST_PLAN.address("dns", "internet")
    assert_in_the_test_lab([lab_dns.address])


async def test_the_fake_receiver_listens_in_the_test_lab(
        start_fake: StartFake, stays_off_the_default_lab: SocketWatch) -> None:
    port = await start_fake(FakeReceiver())
    (fake,) = [address for address in stays_off_the_default_lab.bound if address[1] == port]
    assert fake == (TEST_PLAN.address("receiver-mta", "internet"), port)
    assert_in_the_test_lab(stays_off_the_default_lab.bound)
