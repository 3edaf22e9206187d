# A mail server's lab options changed at run time through its control agent (what a
# scenario's setup does): the options named change, the others stay, and the next
# connections and transactions go by them; a bad value is refused by name and changes
# nothing; only the controller may read or change them.
from __future__ import annotations

import asyncio
import smtplib
from typing import Any

import httpx
import pytest

from labctl.model.options import OPTIONS_PATH, LabOptions
from roles.mailserver.server import MailServer
from tests.conftest import AGENT_HEADERS
from tests.roles.conftest import StartServer

from .submission import ALICE, ALICE_PC, BOB
from .test_spf_modes import forge_from_mallory

FOREIGN = "someone@elsewhere.example"


async def agent_options(server: MailServer, changes: dict[str, Any] | None = None,
                        headers: dict[str, str] = AGENT_HEADERS) -> httpx.Response:
    """GET (changes None) or PATCH the server's lab options through its control agent."""
    host, port = server.address("control")
    async with httpx.AsyncClient(base_url=f"http://{host}:{port}", headers=headers) as agent:
        if changes is None:
            return await agent.get(OPTIONS_PATH)
        return await agent.patch(OPTIONS_PATH, json=changes)


def relay_from_lan(server: tuple[str, int]) -> int:
    """A new port-25 connection from Alice's LAN asking to relay abroad; the RCPT reply."""
    with smtplib.SMTP(*server, source_address=(ALICE_PC, 0), timeout=10) as client:
        client.ehlo("alice-pc")
        client.mail(ALICE)
        code, _ = client.rcpt(FOREIGN)
        return code


async def test_the_agent_reads_the_options_the_server_started_with(
        start_server: StartServer) -> None:
    started = LabOptions(spf="reject", relay_concurrency=3)
    server = await start_server("sender-mta", options=started)
    answer = await agent_options(server)
    assert answer.status_code == 200
    assert LabOptions.model_validate(answer.json()) == started


async def test_a_change_sets_the_options_named_and_keeps_the_others(
        start_server: StartServer) -> None:
    server = await start_server("sender-mta", options=LabOptions(sender_login_match=False))
    answer = await agent_options(server, {"spf": "junk", "relay_concurrency": 1})
    expected = LabOptions(spf="junk", relay_concurrency=1, sender_login_match=False)
    assert LabOptions.model_validate(answer.json()) == expected
    assert server.settings.options == expected
    assert server.relay.settings.options.relay_concurrency == 1  # what the relay opens by


async def test_new_connections_go_by_the_new_trust_lan(start_server: StartServer) -> None:
    server = await start_server("sender-mta")
    smtp = server.address("smtp")
    assert await asyncio.to_thread(relay_from_lan, smtp) == 554
    await agent_options(server, {"trust_lan": True})
    assert await asyncio.to_thread(relay_from_lan, smtp) == 250
    await agent_options(server, {"trust_lan": False})
    assert await asyncio.to_thread(relay_from_lan, smtp) == 554


async def test_the_next_message_goes_by_the_new_spf_mode(start_server: StartServer) -> None:
    receiver = await start_server("receiver-mta")
    await agent_options(receiver, {"spf": "junk"})
    assert (await asyncio.to_thread(forge_from_mallory, receiver.address("smtp")))[0] == 250
    assert len(receiver.mailboxes.list(BOB, "Junk")) == 1
    await agent_options(receiver, {"spf": "reject"})
    assert (await asyncio.to_thread(forge_from_mallory, receiver.address("smtp")))[0] == 550
    await agent_options(receiver, {"spf": "off"})
    assert (await asyncio.to_thread(forge_from_mallory, receiver.address("smtp")))[0] == 250
    assert len(receiver.mailboxes.list(BOB, "INBOX")) == 1


@pytest.mark.parametrize(("body", "field"), [
    ({"spf": "maybe"}, "spf"), ({"trust_lan": "perhaps"}, "trust_lan"),
    ({"relay_concurrency": 0}, "relay_concurrency"),
    ({"relay_concurrency": 101}, "relay_concurrency"), ({"colour": "blue"}, "colour"),
])
async def test_a_bad_value_is_refused_by_name_and_changes_nothing(
        start_server: StartServer, body: dict[str, Any], field: str) -> None:
    server = await start_server("sender-mta")
    answer = await agent_options(server, {"trust_lan": True, **body})
    assert answer.status_code == 422
    assert [error["loc"] for error in answer.json()["detail"]] == [["body", field]]
    assert server.settings.options == LabOptions()


async def test_the_options_routes_are_the_controllers_only(start_server: StartServer) -> None:
    server = await start_server("sender-mta")
    assert (await agent_options(server, headers={})).status_code in (401, 403)
    answer = await agent_options(server, {"spf": "reject"}, headers={})
    assert answer.status_code in (401, 403)
    assert server.settings.options == LabOptions()
