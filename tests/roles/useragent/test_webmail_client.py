# The user agent's webmail client against a real mail server's webmail, from the UA's
# own address: fetching keeps or deletes (to Trash), sending has the webmail compose the
# message and answers like a submission (202 queued as ...), and failures are
# WebmailErrors that say where and why.
from __future__ import annotations

import asyncio
import re

import pytest

from labctl.agent_contract import SendRequest
from roles.mailserver.server import MailServer
from roles.useragent.mail_clients import Account, Endpoint
from roles.useragent.webmail_client import WebmailError, fetch_webmail, send_webmail
from tests.conftest import TEST_PLAN
from tests.roles.conftest import StartServer

BOB = Account("bob@hamburger.edu", "bob-pw")
BOB_PC = TEST_PLAN.address("receiver-ua", "bob-lan")
HELLO = b"From: alice@crepes.fr\r\nSubject: one\r\n\r\nfirst\r\n"
AGAIN = b"From: alice@crepes.fr\r\nSubject: two\r\n\r\n.second\r\n"


def webmail_endpoint(server: MailServer) -> Endpoint:
    """The webmail on the server's bob-lan address."""
    host = TEST_PLAN.address("receiver-mta", "bob-lan")
    (port,) = {port for bound, port in server.bound["webmail"] if bound == host}
    return Endpoint(host, port)


async def test_fetch_keeps_or_deletes(start_server: StartServer) -> None:
    server = await start_server("receiver-mta")
    for data in (HELLO, AGAIN):
        server.mailboxes.deliver(BOB.address, data)
    kept = await asyncio.to_thread(fetch_webmail, webmail_endpoint(server), BOB, BOB_PC, False)
    assert kept == [HELLO, AGAIN]
    deleted = await asyncio.to_thread(fetch_webmail, webmail_endpoint(server), BOB, BOB_PC, True)
    assert deleted == [HELLO, AGAIN]
    assert server.mailboxes.list(BOB.address) == []
    trash = await asyncio.to_thread(fetch_webmail, webmail_endpoint(server), BOB, BOB_PC,
                                    False, "Trash")
    assert trash == [HELLO, AGAIN]


async def test_send_returns_the_message_the_webmail_made(start_server: StartServer) -> None:
    server = await start_server("receiver-mta")
    request = SendRequest(to=BOB.address, subject="Grüße", body="Ketchup?\n")
    sent = await asyncio.to_thread(send_webmail, request, webmail_endpoint(server), BOB, BOB_PC)
    assert sent.reply.startswith("202 queued as ")
    (delivered,) = server.mailboxes.list(BOB.address)
    stored = server.mailboxes.read(BOB.address, delivered.id)
    assert stored.endswith(sent.message)
    assert f"[{BOB_PC}]".encode() in stored  # sent from the UA's own address
    assert b"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=" in sent.message  # RFC 2047 by the webmail


async def test_failures_say_where_and_why(start_server: StartServer) -> None:
    server = await start_server("receiver-mta")
    endpoint = webmail_endpoint(server)
    wrong = Account(BOB.address, "wrong")
    with pytest.raises(WebmailError, match="answered 401: log in with your lab address"):
        await asyncio.to_thread(fetch_webmail, endpoint, wrong, BOB_PC, False)
    with pytest.raises(WebmailError, match="answered 404: no folder 'Nope'"):
        await asyncio.to_thread(fetch_webmail, endpoint, BOB, BOB_PC, False, "Nope")
    with pytest.raises(WebmailError, match=r"answered 422: headers\.From"):
        await asyncio.to_thread(send_webmail, SendRequest(to=BOB.address,
                                headers={"From": "alice@crepes.fr"}), endpoint, BOB, BOB_PC)
    await server.stop()
    where = re.escape(f"webmail at {endpoint.host}:{endpoint.port}")
    with pytest.raises(WebmailError, match=where):
        await asyncio.to_thread(fetch_webmail, endpoint, BOB, BOB_PC, False, timeout=5)
