# The SMTP session typed as at telnet (roles.smtp_session) against a real mail server:
# a reply after each command, the message lines sent through to the lone ".", the
# connection made from the role's own address; and the agents' route that runs it.
from __future__ import annotations

import asyncio

import httpx

from labctl.agent_contract import SMTP_SESSION_PATH
from labctl.model import INTERNET
from roles.control import agent_app
from roles.smtp_session import route_to, run_session, smtp_session_router
from tests.conftest import AGENT_HEADERS
from tests.roles.conftest import MALLORY, TEST_PLAN, StartServer

SPOOF = ["EHLO mallory.internet.test", "MAIL FROM:<alice@crepes.fr>", "RCPT TO:<bob@hamburger.edu>",
         "DATA", "From: alice@crepes.fr", "Subject: Do you like ketchup?", "",
         "How about pickles?", ".", "QUIT"]


async def test_a_session_waits_for_each_reply_and_sends_the_message_through(
        start_server: StartServer) -> None:
    receiver = await start_server("receiver-mta")
    result = await asyncio.to_thread(run_session, receiver.address("smtp"), MALLORY, SPOOF)
    assert result.greeting.startswith("220 ")
    codes = [exchange.reply[:3] for exchange in result.exchanges]
    assert codes == ["250", "250", "250", "354", "250", "221"]
    assert result.exchanges[4].sent == SPOOF[4:9]  # the message, up to the lone "."
    (stored,) = receiver.mailboxes.list("bob@hamburger.edu")
    assert b"How about pickles?" in receiver.mailboxes.read("bob@hamburger.edu", stored.id)


async def test_a_relay_attempt_is_answered_and_the_session_goes_on(
        start_server: StartServer) -> None:
    receiver = await start_server("receiver-mta")
    lines = ["HELO mallory", "MAIL FROM:<m@mallory.test>", "RCPT TO:<victim@elsewhere.test>",
             "QUIT"]
    result = await asyncio.to_thread(run_session, receiver.address("smtp"), MALLORY, lines)
    assert [e.reply[:1] for e in result.exchanges] == ["2", "2", "5", "2"]


def test_a_role_reaches_a_server_on_the_network_they_share_else_on_the_internet() -> None:
    assert route_to(TEST_PLAN, "mallory", "receiver-mta") == (
        (TEST_PLAN.address("receiver-mta", INTERNET), TEST_PLAN.port("receiver-mta", "smtp")),
        MALLORY)
    (host, _), source = route_to(TEST_PLAN, "sender-ua", "receiver-mta")
    assert host == TEST_PLAN.address("receiver-mta", INTERNET)
    assert source == TEST_PLAN.address("sender-ua", "alice-lan")
    assert route_to(TEST_PLAN, "sender-ua", "sender-mta")[1] == source


async def test_the_route_refuses_what_is_no_mail_server_and_bad_lines() -> None:
    app = agent_app("mallory")
    app.include_router(smtp_session_router(TEST_PLAN, "mallory"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://a",
                                 headers=AGENT_HEADERS) as agent:
        for body, field in (({"server": "dns", "lines": ["QUIT"]}, "server"),
                            ({"server": "receiver-mta", "lines": []}, "lines"),
                            ({"server": "receiver-mta", "lines": ["QUIT\r\nRSET"]}, "lines"),
                            ({"server": "receiver-mta", "lines": ["QUIT"], "x": 1}, "x")):
            answer = await agent.post(SMTP_SESSION_PATH, json=body)
            assert answer.status_code == 422, body
            assert field in answer.text
