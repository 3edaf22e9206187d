# The user agent's clients against the real mail server: a composed message is
# submitted with AUTH and fetched back over POP3 intact, from the UA's own address.
from __future__ import annotations

import asyncio
import smtplib
from email import message_from_bytes

import pytest

from labctl.agent_contract import SendRequest
from roles.mailserver.server import MailServer
from roles.useragent.compose_message import compose_message
from roles.useragent.mail_clients import Account, Endpoint, fetch_pop3, submit
from tests.conftest import TEST_PLAN
from tests.roles.conftest import StartServer, wait_until

BOB = Account("bob@hamburger.edu", "bob-pw")
ALICE_AT_BOBS_SERVER = TEST_PLAN.address("receiver-ua", "bob-lan")  # the UA's own address


def endpoint(server: MailServer, service: str) -> Endpoint:
    host, port = server.address(service)
    return Endpoint(host, port)


def test_compose_message_has_the_rfc5322_headers_and_overrides() -> None:
    request = SendRequest(to="bob@hamburger.edu", subject="Hi", body="Body\n",
                          headers={"Subject": "Replaced", "X-Lab": "1"})
    message = compose_message("alice@crepes.fr", request)
    for header in ("From", "To", "Subject", "Date", "Message-ID"):
        assert message[header], header
    assert message["Subject"] == "Replaced" and message["X-Lab"] == "1"
    assert str(message["Message-ID"]).endswith("@crepes.fr>")
    assert message.get_content() == "Body\n"


async def test_submitted_message_is_fetched_back_intact(start_server: StartServer) -> None:
    server = await start_server("receiver-mta")
    body = "Line one\n.starts with a dot\n..two dots\n"
    message = compose_message(BOB.address, SendRequest(to=BOB.address, subject="me", body=body))
    reply = await asyncio.to_thread(
        submit, lambda _: message.as_bytes(), BOB.address, endpoint(server, "submission"), BOB,
        ALICE_AT_BOBS_SERVER,
    )
    assert reply.reply.startswith("250 ") and reply.message == message.as_bytes()
    await wait_until(lambda: bool(server.mailboxes.list(BOB.address)))
    fetched = await asyncio.to_thread(
        fetch_pop3, endpoint(server, "pop3"), BOB, ALICE_AT_BOBS_SERVER, True
    )
    assert len(fetched) == 1
    received = message_from_bytes(fetched[0])
    assert received["Message-ID"] == message["Message-ID"]
    payload = received.get_payload(decode=True)
    assert isinstance(payload, bytes)
    assert payload.replace(b"\r\n", b"\n") == body.encode()  # dot-stuffing undone both ways
    again = await asyncio.to_thread(
        fetch_pop3, endpoint(server, "pop3"), BOB, ALICE_AT_BOBS_SERVER, False
    )
    assert again == [], "delete=True removed the message at QUIT"


async def test_wrong_password_is_an_smtp_error(start_server: StartServer) -> None:
    server = await start_server("receiver-mta")
    message = compose_message(BOB.address, SendRequest(to=BOB.address, subject="x", body="y"))
    with pytest.raises(smtplib.SMTPAuthenticationError) as raised:
        await asyncio.to_thread(submit, lambda _: message.as_bytes(), BOB.address,
                                endpoint(server, "submission"), Account(BOB.address, "wrong"),
                                ALICE_AT_BOBS_SERVER)
    assert raised.value.smtp_code == 535
