# Bob's control agent fetching over IMAP from a real IMAP server (Dovecot on the test
# instance's receiver-mta address and IMAP port, serving a Maildir our store wrote):
# the agents' contract end to end, and what it cannot do. Then Bob over HTTP and Alice
# through her webmail, against our own mail servers (their webmail on the plan's port).
from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from labctl.agent_guard import AgentGuard
from labctl.model import addressing
from roles.mailserver.mailbox_store import MaildirMailboxes
from roles.useragent.agent import create_agent_app
from tests.conftest import AGENT_HEADERS, AGENT_TOKEN, TEST_INSTANCE
from tests.peers.dovecot import DovecotInstance, running_dovecot
from tests.roles.conftest import StartServer, wait_until

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


async def test_bob_fetches_over_http_and_alice_sends_through_her_webmail(
    bob: httpx.AsyncClient, start_server: StartServer
) -> None:
    receiver = await start_server("receiver-mta", ports={"webmail": webmail_port("receiver-mta")})
    sender = await start_server(
        "sender-mta", ports={"webmail": webmail_port("sender-mta")},
        peer_smtp_ports={"receiver-mta": receiver.address("smtp")[1]})
    waiting = b"Subject: over HTTP\r\n\r\nbody\r\n"
    receiver.mailboxes.deliver(BOB.address, waiting)
    fetched = await bob.post("/fetch", json={"protocol": "http", "delete": True})
    assert fetched.status_code == 200, fetched.text
    assert fetched.json()["messages"] == [waiting.decode()]
    assert receiver.mailboxes.list(BOB.address) == []  # deleted: moved to Trash
    assert len(receiver.mailboxes.list(BOB.address, "Trash")) == 1

    app = create_agent_app("sender-ua", PLAN, AgentGuard.for_token(AGENT_TOKEN))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://agent", headers=AGENT_HEADERS) as alice:
        sent = await alice.post("/send", json={
            "to": BOB.address, "subject": "through the webmail", "via": "webmail"})
    assert sent.status_code == 200, sent.text
    result = sent.json()
    assert result["server_reply"].startswith("202 queued as ")
    assert result["message_id"] and "Subject: through the webmail" in result["raw"]
    assert len(sender.mailboxes.list("alice@crepes.fr", "Sent")) == 1
    await wait_until(lambda: len(receiver.mailboxes.list(BOB.address)) == 1)
    delivered = receiver.mailboxes.read(BOB.address, receiver.mailboxes.list(BOB.address)[0].id)
    assert result["message_id"].encode() in delivered


def webmail_port(role: str) -> int:
    """Where the agents look for `role`'s webmail in the test instance."""
    return PLAN.port(role, "webmail")
