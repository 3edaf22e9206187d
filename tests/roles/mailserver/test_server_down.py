# A mail server taken down through its control agent (the lecture's "receiver down"):
# its lab addresses refuse connections and the open ones are cut, the sender's relay
# keeps the mail queued; brought back up on the same ports, each message arrives once.
from __future__ import annotations

import asyncio
import poplib
import smtplib
import socket

import httpx
import pytest

from roles.mailserver.server import MailServer
from roles.mailserver.storage import header_value
from tests.conftest import AGENT_HEADERS
from tests.roles.conftest import StartServer, wait_until

from .submission import ALICE, BOB, make_message, submit


async def switch(server: MailServer, up: bool | None = None) -> httpx.Response:
    """GET (up None) or PUT the server's service state through its control agent."""
    host, port = server.address("control")
    async with httpx.AsyncClient(base_url=f"http://{host}:{port}",
                                 headers=AGENT_HEADERS) as agent:
        if up is None:
            return await agent.get("/service")
        return await agent.put("/service", json={"up": up})


def refused(address: tuple[str, int]) -> bool:
    try:
        socket.create_connection(address, timeout=5).close()
    except ConnectionRefusedError:
        return True
    return False


async def test_down_refuses_every_lab_service_then_up_serves_the_same_ports(
        start_server: StartServer) -> None:
    receiver = await start_server("receiver-mta")
    services = {name: receiver.address(name) for name in ("smtp", "pop3", "imap", "webmail")}
    pop3 = await asyncio.to_thread(poplib.POP3, *services["pop3"], timeout=10)
    smtp = await asyncio.to_thread(smtplib.SMTP, *services["smtp"], timeout=10)
    assert (await switch(receiver, up=False)).json() == {"up": False}
    assert (await switch(receiver)).json() == {"up": False}
    for name, address in services.items():
        assert await asyncio.to_thread(refused, address), f"{name} still answers when down"
    with pytest.raises((smtplib.SMTPServerDisconnected, ConnectionError)):
        await asyncio.to_thread(smtp.noop)  # an open SMTP connection was cut
    with pytest.raises((poplib.error_proto, ConnectionError, EOFError)):
        await asyncio.to_thread(pop3.noop)  # and so was the POP3 one
    assert (await switch(receiver, up=True)).json() == {"up": True}
    for name, address in services.items():
        assert not await asyncio.to_thread(refused, address), f"{name} did not come back"
        assert receiver.address(name) == address


async def test_mail_waits_while_the_receiver_is_down_and_arrives_once(
        start_server: StartServer) -> None:
    receiver = await start_server("receiver-mta")
    sender = await start_server("sender-mta",
                                peer_smtp_ports={"receiver-mta": receiver.address("smtp")[1]})
    await switch(receiver, up=False)
    await asyncio.to_thread(submit, sender.address("submission"),
                            make_message(ALICE, BOB, "while down"))
    await wait_until(lambda: any(m.attempts >= 1 for m in sender.queue.messages()))
    (queued,) = sender.queue.messages()
    assert "cannot connect to receiver-mta" in (queued.last_error or "")
    assert receiver.mailboxes.list(BOB) == []
    await switch(receiver, up=True)
    sender.relay.flush()
    await wait_until(lambda: sender.queue.messages() == [])
    (stored,) = receiver.mailboxes.list(BOB)
    assert header_value(receiver.mailboxes.read(BOB, stored.id), "Message-ID") == (
        "<while-down@test>")


async def test_the_service_routes_are_the_controllers_only(start_server: StartServer) -> None:
    receiver = await start_server("receiver-mta")
    host, port = receiver.address("control")
    async with httpx.AsyncClient(base_url=f"http://{host}:{port}") as stranger:
        assert (await stranger.put("/service", json={"up": False})).status_code in (401, 403)
        assert (await stranger.get("/service")).status_code in (401, 403)
    assert receiver.is_up
    bad = await switch(receiver)
    assert bad.json() == {"up": True}
    async with httpx.AsyncClient(base_url=f"http://{host}:{port}",
                                 headers=AGENT_HEADERS) as agent:
        for body in ({}, {"up": "sometimes"}, {"up": True, "extra": 1}):
            assert (await agent.put("/service", json=body)).status_code == 422


async def test_going_down_and_up_does_not_end_the_server(start_server: StartServer) -> None:
    receiver = await start_server("receiver-mta")
    running = asyncio.create_task(receiver.wait())  # what the program waits on to stop
    for up in (False, True, False, True):
        assert (await switch(receiver, up=up)).json() == {"up": up}
    assert (await switch(receiver)).json() == {"up": True}  # the agent still answers
    assert not running.done(), "stopping the webmail ended the mail server"
    running.cancel()
