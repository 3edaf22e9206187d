# Fixtures for the role programs: real mail servers run in-process on loopback.
#
# Each server binds the role's local addresses in the test lab instance (TEST_INSTANCE,
# never the default lab's 127.77.N.x, whose captures would record test traffic); ports
# are free ones picked by the kernel (port 0) unless a test fixes one. A real lab name
# server runs in-process too (at the dns role's address), and the mail servers ask it
# for MX, A and SPF records.
from __future__ import annotations

import asyncio
import dataclasses
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from labctl.model import INTERNET
from labctl.model.zone import lab_zone, resolver_address
from roles.dns.responder import Responder
from roles.dns.server import DnsServer
from roles.mailserver.server import MailServer
from roles.mailserver.settings import Listener, MailServerSettings
from tests.conftest import TEST_INSTANCE, TEST_PLAN

StartServer = Callable[..., Awaitable[MailServer]]
# Addresses on the test lab's internet network.
SENDER_INTERNET = TEST_PLAN.address("sender-mta", INTERNET)
RECEIVER_INTERNET = TEST_PLAN.address("receiver-mta", INTERNET)
MALLORY = TEST_PLAN.address("mallory", INTERNET)
DNS_HOST = resolver_address(TEST_PLAN)[0]  # where the lab's name server listens


def free_port(host: str) -> int:
    """A TCP port that is free on `host` right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def settings_for(role: str, data_dir: Path, smtp_port: int = 0,
                 peer_smtp_ports: dict[str, int] | None = None,
                 resolver: tuple[str, int] | None = None,
                 ports: dict[str, int] | None = None,
                 **changes: Any) -> MailServerSettings:
    """Test-instance local settings for `role`, kernel-chosen ports unless `ports` (service
    -> port; `smtp_port` for smtp) fixes some.

    `changes` replace further fields (options=LabOptions(...), idle_timeout_seconds=...).
    """
    base = MailServerSettings.for_role(role, "local", data_dir, instance=TEST_INSTANCE)
    fixed = {"smtp": smtp_port, **(ports or {})}
    listeners = tuple(Listener(item.service, item.host, fixed.get(item.service, 0))
                      for item in base.listeners)
    return dataclasses.replace(
        base, listeners=listeners, control_port=0, peer_smtp_ports=peer_smtp_ports or {},
        resolver=resolver or base.resolver,
        **{"retry_base_seconds": 0.2, "retry_max_seconds": 1.0, **changes},
    )


@pytest.fixture
async def lab_dns() -> AsyncIterator[DnsServer]:
    """The test lab's name server, in-process at the dns role's address, on a free port."""
    server = DnsServer(Responder(lab_zone(TEST_PLAN)), DNS_HOST, 0)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def start_server(
    tmp_path: Path, lab_dns: DnsServer, agents_admit_test_token: dict[str, str]
) -> AsyncIterator[StartServer]:
    """Factory: start a MailServer for a role; every server is stopped at teardown."""
    running: list[MailServer] = []

    async def start(role: str, smtp_port: int = 0, peer_smtp_ports: dict[str, int] | None = None,
                    data_dir: Path | None = None, **changes: Any) -> MailServer:
        settings = settings_for(role, data_dir or tmp_path / role, smtp_port, peer_smtp_ports,
                                lab_dns.address, **changes)
        server = MailServer(settings)
        await server.start()
        running.append(server)
        return server

    yield start
    for server in running:
        await server.stop()


async def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll `condition` until true; fail the test after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(0.05)

