# The socket watch the whole suite runs under: a socket of the test process that binds,
# connects or sends to the default lab's networks or controllers is refused and fails
# its test; the test lab's addresses and plain loopback pass.
from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator

import pytest

from labctl.model import DEFAULT_INSTANCE, INTERNET, MGMT, Runtime, addressing
from tests.conftest import SOCKET_WATCH, TEST_PLAN
from tests.socket_watch import DEFAULT_LAB_NETWORKS, SocketWatch

DEFAULT_LOCAL = addressing(Runtime.LOCAL, instance=DEFAULT_INSTANCE)
DEFAULT_COMPOSE = addressing(Runtime.COMPOSE, instance=DEFAULT_INSTANCE)


@pytest.fixture
def watch() -> Iterator[SocketWatch]:
    """The suite's watch, with what this test gets refused taken back at the end."""
    yield SOCKET_WATCH
    SOCKET_WATCH.refused.clear()


@pytest.mark.parametrize("address", [
    DEFAULT_LOCAL.address("receiver-mta", INTERNET),
    DEFAULT_LOCAL.address("receiver-mta", MGMT),
    DEFAULT_LOCAL.address("sender-ua", "alice-lan"),
])
def test_binding_a_default_lab_address_is_refused_and_remembered(
        watch: SocketWatch, address: str) -> None:
    with socket.socket() as sock, pytest.raises(PermissionError, match="default lab"):
        sock.bind((address, 0))
    assert watch.refused == [f"bind {address}:0"]


def test_a_squatter_may_bind_the_default_lab_but_not_talk_to_it(watch: SocketWatch) -> None:
    address = DEFAULT_LOCAL.address("receiver-mta", INTERNET)
    with socket.socket() as squatter, socket.socket() as client:
        with watch.allowing_binds():
            squatter.bind((address, 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        with pytest.raises(PermissionError):
            client.connect((address, port))
    assert watch.refused == [f"connect {address}:{port}"]
    with socket.socket() as again, pytest.raises(PermissionError):
        again.bind((address, 0))


def test_connecting_or_sending_to_the_default_lab_is_refused(watch: SocketWatch) -> None:
    mx = (DEFAULT_LOCAL.address("receiver-mta", INTERNET), 2525)
    dns = (DEFAULT_COMPOSE.address("dns", INTERNET), 53)
    with socket.socket() as tcp, pytest.raises(PermissionError):
        tcp.connect(mx)
    with socket.socket() as tcp, pytest.raises(PermissionError):
        tcp.connect_ex(mx)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, pytest.raises(PermissionError):
        udp.sendto(b"query", dns)
    assert watch.refused == [f"connect {mx[0]}:2525", f"connect_ex {mx[0]}:2525",
                             f"sendto {dns[0]}:53"]


def test_the_default_labs_controllers_are_refused(watch: SocketWatch) -> None:
    for port in (8025, 8026):
        with socket.socket() as sock, pytest.raises(PermissionError, match="default lab"):
            sock.connect(("127.0.0.1", port))
    assert watch.refused == ["connect 127.0.0.1:8025", "connect 127.0.0.1:8026"]


def test_the_test_lab_and_plain_loopback_pass(watch: SocketWatch) -> None:
    for host in (TEST_PLAN.address("receiver-mta", INTERNET), "127.0.0.1"):
        with socket.socket() as server:
            server.bind((host, 0))
            server.listen()
            with socket.create_connection(server.getsockname()):
                pass
    assert watch.refused == []
    assert [host for host, _ in watch.bound] == [
        TEST_PLAN.address("receiver-mta", INTERNET), "127.0.0.1"]


def test_every_network_of_both_runtimes_is_watched_and_none_of_the_test_lab() -> None:
    assert {str(n) for n in DEFAULT_LAB_NETWORKS} == {
        "127.77.0.0/24", "127.77.1.0/24", "127.77.2.0/24", "127.77.3.0/24",
        "198.18.0.0/24", "198.18.1.0/24", "198.18.2.0/24", "198.18.3.0/24"}
    test_lab = {ipaddress.IPv4Address(TEST_PLAN.address(role, net))
                for role in ("sender-mta", "receiver-mta") for net in (INTERNET, MGMT)}
    assert not any(ip in network for network in DEFAULT_LAB_NETWORKS for ip in test_lab)


def test_uninstall_gives_the_sockets_their_own_methods_back() -> None:
    own = SocketWatch(DEFAULT_LAB_NETWORKS)
    SOCKET_WATCH.uninstall()
    try:
        plain = socket.socket.bind
        own.install()
        assert socket.socket.bind is not plain
        own.uninstall()
        assert socket.socket.bind is plain
    finally:
        SOCKET_WATCH.install()
