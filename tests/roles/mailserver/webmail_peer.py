# Shared by the webmail tests: a real in-process receiver-mta (mail.hamburger.edu) and an
# HTTP client talking to its webmail from Bob's PC on bob-lan, as Bob's user agent would.
from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from roles.mailserver.server import MailServer
from tests.conftest import TEST_PLAN
from tests.roles.conftest import StartServer

BOB, BOB_PASSWORD = "bob@hamburger.edu", "bob-pw"
ALICE = "alice@crepes.fr"
BOB_PC = TEST_PLAN.address("receiver-ua", "bob-lan")  # where Bob's requests come from
BOBS_SERVER = TEST_PLAN.address("receiver-mta", "bob-lan")
API = f"/api/mailboxes/{BOB}"
INBOX_MESSAGES = f"{API}/folders/INBOX/messages"


def webmail_url(server: MailServer, host: str = BOBS_SERVER) -> str:
    """The base URL of the server's webmail on its address `host`."""
    (port,) = {port for bound_host, port in server.bound["webmail"] if bound_host == host}
    return f"http://{host}:{port}"


def browser_client(base_url: str, auth: tuple[str, str] | None = None) -> httpx.AsyncClient:
    """An HTTP client on Bob's PC, with HTTP Basic credentials when given."""
    transport = httpx.AsyncHTTPTransport(local_address=BOB_PC)
    return httpx.AsyncClient(base_url=base_url, transport=transport, auth=auth)


@dataclass
class Webmail:
    """Bob's server and an API client logged in as Bob."""

    server: MailServer
    api: httpx.AsyncClient

    def deliver(self, data: bytes, folder: str = "INBOX") -> str:
        """Put a message straight into Bob's folder; its id."""
        return self.server.mailboxes.deliver(BOB, data, folder)


@pytest.fixture
async def webmail(start_server: StartServer) -> AsyncIterator[Webmail]:
    """Bob's server with its webmail, and an API client with Bob's credentials."""
    server = await start_server("receiver-mta")
    async with browser_client(webmail_url(server), auth=(BOB, BOB_PASSWORD)) as api:
        yield Webmail(server, api)
