# Bob's control agent fetching over IMAP from a real IMAP server (Dovecot on the test
# instance's receiver-mta address and IMAP port, serving a Maildir our store wrote):
# the agents' contract end to end, and what this build refuses (webmail) or cannot do.
from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from labctl.agent_auth import AgentGuard
from labctl.model import addressing
from roles.mailserver.mailbox_store import MaildirMailboxes
from roles.useragent.agent import create_agent_app
from tests.conftest import AGENT_HEADERS, AGENT_TOKEN, TEST_INSTANCE
from tests.peers.dovecot import DovecotInstance, running_dovecot

PLAN = addressing("local", instance=TEST_INSTANCE)
BOB = PLAN.lab.user("bob@hamburger.edu")
SERVER = PLAN.address("receiver-mta", PLAN.shared_network("receiver-ua", "receiver-mta"))


@pytest.fixture
def dovecot() -> Iterator[DovecotInstance]:
    with running_dovecot({BOB.address: BOB.password}, SERVER,
                         PLAN.port("receiver-mta", "imap")) as instance:
        yield instance


@pytest.fixture
async def bob(agents_admit_test_token: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    app = create_agent_app("receiver-ua", PLAN, AgentGuard.for_token(AGENT_TOKEN))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://agent", headers=AGENT_HEADERS) as client:
        yield client


async def test_fetch_over_imap_headers_and_folders(
    bob: httpx.AsyncClient, dovecot: DovecotInstance
) -> None:
    store = MaildirMailboxes(dovecot.mail)
    store.deliver(BOB.address, b"Subject: over IMAP\r\n\r\nbody\r\n", folder="Junk")
    answer = await bob.post("/fetch", json={
        "protocol": "imap", "folder": "Junk", "headers_only": True, "list_folders": True,
        "move_to": "INBOX"})
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["protocol"] == "imap"
    assert result["messages"] == ["Subject: over IMAP\r\n\r\n"]
    assert sorted(result["folders"]) == ["INBOX", "Junk", "Sent", "Trash"]
    assert [store.read(BOB.address, m.id) for m in store.list(BOB.address)] == [
        b"Subject: over IMAP\r\n\r\nbody\r\n"]


async def test_imap_refusal_is_a_502_naming_the_protocol_and_server(
    bob: httpx.AsyncClient, dovecot: DovecotInstance
) -> None:
    answer = await bob.post("/fetch", json={"protocol": "imap", "folder": "Nowhere"})
    assert answer.status_code == 502
    assert answer.json()["detail"].startswith(
        f"IMAP fetch from {SERVER}:{dovecot.imap_port} failed: NO")


async def test_options_pop3_cannot_honour_are_a_422_naming_the_field(
    bob: httpx.AsyncClient
) -> None:
    answer = await bob.post("/fetch", json={"protocol": "pop3", "part": "1"})
    assert answer.status_code == 422
    assert "part: only with protocol imap, not pop3" in answer.text


async def test_webmail_is_not_in_this_build(bob: httpx.AsyncClient) -> None:
    fetched = await bob.post("/fetch", json={"protocol": "http"})
    sent = await bob.post("/send", json={"to": "alice@crepes.fr", "via": "webmail"})
    assert (fetched.status_code, sent.status_code) == (501, 501)
    assert "not available in this build" in fetched.json()["detail"]
