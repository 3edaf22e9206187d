# Alice's control agent in front of a real mail server (the test instance's sender-mta
# on its lab ports): only the controller's token is admitted, a request no message can
# be made of is a 422 naming the field and disturbs nothing, and what is sent is an
# RFC 5322 / MIME message (Date and Message-ID always, attachments, RFC 2047 headers,
# an 8bit body only to a server announcing 8BITMIME).
from __future__ import annotations

import base64
import dataclasses
from collections.abc import AsyncIterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest

from labctl.agent_contract import SendRequest
from labctl.agent_guard import AgentGuard
from labctl.model import addressing
from roles.mailserver.server import MailServer
from roles.mailserver.settings import MailServerSettings
from roles.useragent.agent import create_agent_app
from roles.useragent.compose_message import compose_message
from tests.conftest import AGENT_HEADERS, AGENT_TOKEN, TEST_INSTANCE

PLAN = addressing("local", instance=TEST_INSTANCE)
BOB = "bob@hamburger.edu"


@pytest.fixture
async def alice(
    tmp_path: Path, agents_admit_test_token: dict[str, str]
) -> AsyncIterator[tuple[httpx.AsyncClient, MailServer]]:
    settings = MailServerSettings.for_role(
        "sender-mta", "local", tmp_path / "sender-mta", instance=TEST_INSTANCE)
    server = MailServer(dataclasses.replace(settings, control_port=0))
    await server.start(control_agent=False)
    app = create_agent_app("sender-ua", PLAN, AgentGuard.for_token(AGENT_TOKEN))
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://agent",
                                     headers=AGENT_HEADERS) as client:
            yield client, server
    finally:
        await server.stop()


def _queued(server: MailServer) -> list[str | None]:
    return [m.message_id for m in server.queue.messages()]


async def _send(client: httpx.AsyncClient, **fields: Any) -> httpx.Response:
    return await client.post("/send", json={"to": BOB, **fields})


async def test_only_the_controller_may_make_alice_send(
    alice: tuple[httpx.AsyncClient, MailServer]
) -> None:
    client, server = alice
    for headers in ({"Authorization": ""}, {"Authorization": "Bearer guess"}):
        response = await client.post("/send", json={"to": BOB}, headers=headers)
        assert response.status_code in (401, 403)
    assert (await client.get("/health", headers={"Authorization": ""})).status_code == 200
    assert _queued(server) == []


@pytest.mark.parametrize(("fields", "field"), [
    ({"headers": {"X-Evil": "x\r\nBcc: carol@crepes.fr"}}, "X-Evil"),
    ({"headers": {"": "no name"}}, "headers"),
    ({"to": "bøb@hamburger.edu"}, "to"),
    ({"headers": {"Date": ""}}, "Date"),
    ({"headers": {"Message-ID": " "}}, "Message-ID"),
])
async def test_bad_request_is_422_naming_the_field_and_the_next_send_works(
    alice: tuple[httpx.AsyncClient, MailServer], fields: dict[str, Any], field: str
) -> None:
    client, server = alice
    refused = await _send(client, **fields)
    assert refused.status_code == 422 and field in refused.text, refused.text
    assert _queued(server) == []
    sent = await _send(client, subject="after the bad one")
    assert sent.status_code == 200, sent.text
    assert _queued(server) == [sent.json()["message_id"]]


async def test_message_is_mime_with_attachments_and_encoded_non_ascii(
    alice: tuple[httpx.AsyncClient, MailServer]
) -> None:
    client, server = alice
    pdf = b"%PDF-1.4 \x00\xff binary"
    response = await _send(
        client, subject="Grüße aus Paris", body="Ça va, Bob ?\n",
        headers={"X-Lab": "crêpes"},
        attachments=[
            {"filename": "menu.pdf", "content_type": "application/pdf",
             "data": base64.b64encode(pdf).decode()},
            {"filename": "notes.txt", "content_type": "text/plain",
             "data": base64.b64encode(b"ketchup\n").decode()},
        ],
    )
    assert response.status_code == 200, response.text
    raw = response.json()["raw"].encode("utf-8")
    header_section = raw.split(b"\r\n\r\n", 1)[0]
    assert header_section.isascii() and b"=?utf-8?" in header_section
    assert "Ça va".encode() in raw, "our server announces 8BITMIME: the text goes as 8bit"
    (queued,) = server.queue.messages()
    assert queued.message_id == response.json()["message_id"]
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    assert message["Subject"] == "Grüße aus Paris" and message["X-Lab"] == "crêpes"
    assert message["Date"] and message["Message-ID"] == response.json()["message_id"]
    assert message.get_content_type() == "multipart/mixed"
    body, *attachments = message.iter_parts()
    assert body.get_content().replace("\r\n", "\n") == "Ça va, Bob ?\n"
    assert [(a.get_filename(), a.get_content_type(), a.get_payload(decode=True))
            for a in attachments] == [("menu.pdf", "application/pdf", pdf),
                                      ("notes.txt", "text/plain", b"ketchup\n")]


async def test_plain_message_is_a_single_text_part(
    alice: tuple[httpx.AsyncClient, MailServer]
) -> None:
    client, _ = alice
    response = await _send(client, subject="Hi", body="Do you like ketchup?\n")
    message = message_from_bytes(response.json()["raw"].encode(), policy=policy.default)
    assert message.get_content_type() == "text/plain"
    assert {"From", "To", "Subject", "Date", "Message-ID", "MIME-Version"} <= set(message.keys())


def test_without_8bitmime_the_message_is_7bit_clean() -> None:
    request = SendRequest(to=BOB, subject="Grüße", body="Ça va ?\n", headers={"X-Lab": "crêpes"})
    raw = compose_message("alice@crepes.fr", request, eight_bit=False).as_bytes()
    assert raw.isascii() and b"quoted-printable" in raw
    parsed = message_from_bytes(raw, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    assert parsed["Subject"] == "Grüße"
    assert parsed.get_content().replace("\r\n", "\n") == "Ça va ?\n"


async def test_alice_types_an_smtp_session_from_her_address_for_the_controller_only(
    alice: tuple[httpx.AsyncClient, MailServer]
) -> None:
    client, server = alice
    lines = ["HELO alice-pc.crepes.fr", "MAIL FROM:<alice@crepes.fr>",
             "RCPT TO:<alice@crepes.fr>", "DATA", "Subject: note", "", "ketchup", ".", "QUIT"]
    body = {"server": "sender-mta", "lines": lines}
    refused = await client.post("/smtp-session", json=body, headers={"Authorization": ""})
    assert refused.status_code in (401, 403)
    answer = await client.post("/smtp-session", json=body)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["greeting"].startswith("220 ")
    assert [e["reply"][:3] for e in result["exchanges"]] == ["250", "250", "250", "354", "250",
                                                             "221"]
    (stored,) = server.mailboxes.list("alice@crepes.fr")
    received = server.mailboxes.read("alice@crepes.fr", stored.id).split(b"\r\n\r\n")[0]
    assert PLAN.address("sender-ua", "alice-lan").encode() in received  # from her address
