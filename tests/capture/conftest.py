# Fixtures of the capture tests: the analysis tests' fixture captures and tshark oracle
# (imported, so both suites read captures the same way) and a real SMTP peer.
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tests.analysis.conftest import fixture_maker, local, pcaps, tshark_streams
from tests.capture.smtp_peers import smtp_session
from tests.peers.tools import require_packet_capture

__all__ = ["fixture_maker", "local", "pcaps", "smtp_server", "tshark_streams"]
tcpdump_only = pytest.mark.usefixtures("packet_capture")  # tests that run tcpdump


@pytest.fixture
def packet_capture() -> None:
    """The test runs tcpdump (see require_packet_capture)."""
    require_packet_capture()


@pytest.fixture
async def smtp_server() -> AsyncIterator[tuple[str, int]]:
    """An SMTP server on 127.0.0.1 (a relay's target): its (ip, port)."""
    server = await asyncio.start_server(smtp_session, "127.0.0.1", 0)
    yield "127.0.0.1", server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
