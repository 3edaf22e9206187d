# Sending through the webmail: the server composes the message (From is always the
# logged-in user), delivers a local recipient's copy, queues a remote one (which then
# leaves over SMTP, server to server), keeps a copy in Sent and answers 202; requests
# no message can be made of, or that try to set the sender, are 422s naming the field.
from __future__ import annotations

from email import message_from_bytes

import pytest

from roles.mailserver.storage import header_value
from tests.roles.conftest import StartServer, free_port, wait_until

from .webmail_peer import (
    ALICE,
    API,
    BOB,
    BOB_PASSWORD,
    BOB_PC,
    Webmail,
    browser_client,
    webmail,
    webmail_url,
)

__all__ = ["webmail"]  # the fixture
OUTBOX = f"{API}/outbox"


async def test_local_mail_is_delivered_and_kept_in_sent(webmail: Webmail) -> None:
    answer = await webmail.api.post(OUTBOX, json={"to": BOB, "subject": "note to self",
                                                  "body": "Buy ketchup.\n"})
    assert answer.status_code == 202, answer.text
    accepted = answer.json()
    raw = accepted["raw"].encode()
    (delivered,) = webmail.server.mailboxes.list(BOB)
    assert delivered.id == accepted["ids"][0]
    stored = webmail.server.mailboxes.read(BOB, delivered.id)
    assert stored.startswith(b"Return-Path: <bob@hamburger.edu>\r\nReceived: from [")
    assert f"(unknown [{BOB_PC}])".encode() in stored  # the request's real source
    assert b"with HTTP id " + accepted["queue_id"].encode() in stored
    assert stored.endswith(raw)
    (sent,) = webmail.server.mailboxes.list(BOB, "Sent")
    assert sent.id == accepted["sent_id"] and sent.flags == {"Seen"}
    assert webmail.server.mailboxes.read(BOB, sent.id, "Sent") == raw
    message = message_from_bytes(raw)
    assert message["From"] == BOB and message["Subject"] == "note to self"
    assert message["Message-ID"] == accepted["message_id"]
    assert webmail.server.queue.messages() == []


async def test_remote_mail_waits_in_the_outgoing_queue(webmail: Webmail) -> None:
    answer = await webmail.api.post(OUTBOX, json={"to": ALICE, "subject": "Hi",
                                                  "body": "Do you like ketchup?"})
    assert answer.status_code == 202, answer.text
    accepted = answer.json()
    assert accepted["ids"] == [accepted["queue_id"]]
    queued = [m for m in webmail.server.queue.messages() if m.id == accepted["queue_id"]]
    assert [(m.mail_from, m.rcpt_tos) for m in queued] == [(BOB, [ALICE])]
    assert queued[0].data.endswith(accepted["raw"].encode())
    assert webmail.server.mailboxes.list(BOB) == []
    assert len(webmail.server.mailboxes.list(BOB, "Sent")) == 1


async def test_remote_mail_leaves_over_smtp_to_the_peer_server(
        start_server: StartServer) -> None:
    alices_port = free_port("127.0.0.1")
    alices_server = await start_server("sender-mta", smtp_port=alices_port)
    bobs_server = await start_server("receiver-mta", peer_smtp_ports={"sender-mta": alices_port})
    async with browser_client(webmail_url(bobs_server), auth=(BOB, BOB_PASSWORD)) as api:
        answer = await api.post(OUTBOX, json={"to": ALICE, "subject": "Re: ketchup",
                                              "body": "Yes, with fries."})
    assert answer.status_code == 202
    await wait_until(lambda: bool(alices_server.mailboxes.list(ALICE)))
    (arrived,) = alices_server.mailboxes.list(ALICE)
    data = alices_server.mailboxes.read(ALICE, arrived.id)
    assert header_value(data, "Message-ID") == answer.json()["message_id"]
    assert b"with ESMTP" in data and b"with HTTP" in data  # the SMTP hop, then the webmail
    await wait_until(lambda: bobs_server.queue.messages() == [])


@pytest.mark.parametrize(("body", "field"), [
    ({"to": "not an address"}, ["body", "to"]),
    ({"to": BOB, "subject": "two\nlines"}, ["body", "subject"]),
    ({"to": BOB, "body": "nul\x00"}, ["body", "body"]),
    ({"to": BOB, "headers": {"Content-Type": "text/html"}},
     ["body", "headers", "Content-Type", "[key]"]),
    ({"to": BOB, "attachments": [{"filename": "a", "data": "!!"}]},
     ["body", "attachments", 0, "data"]),
    ({"to": BOB, "bcc": ALICE}, ["body", "bcc"]),
    ({"subject": "no recipient"}, ["body", "to"]),
])
async def test_invalid_requests_name_the_field(webmail: Webmail, body: dict[str, object],
                                               field: list[object]) -> None:
    answer = await webmail.api.post(OUTBOX, json=body)
    assert answer.status_code == 422
    assert [error["loc"] for error in answer.json()["detail"]] == [field]
    assert webmail.server.mailboxes.list(BOB, "Sent") == []


@pytest.mark.parametrize("header", ["From", "sender", "Return-Path"])
async def test_the_sender_cannot_be_spoofed(webmail: Webmail, header: str) -> None:
    answer = await webmail.api.post(OUTBOX, json={"to": BOB, "headers": {header: ALICE}})
    assert answer.status_code == 422
    assert answer.json()["detail"].startswith(f"headers.{header}: the sender is the logged-in")
    assert webmail.server.mailboxes.list(BOB) == []


async def test_an_unknown_local_recipient_is_refused(webmail: Webmail) -> None:
    answer = await webmail.api.post(OUTBOX, json={"to": "nobody@hamburger.edu"})
    assert answer.status_code == 422 and answer.json()["detail"].startswith("to: no mailbox")
    assert webmail.server.mailboxes.list(BOB, "Sent") == []


async def test_sending_needs_credentials(webmail: Webmail) -> None:
    async with browser_client(str(webmail.api.base_url)) as anonymous:
        answer = await anonymous.post(OUTBOX, json={"to": BOB})
    assert answer.status_code == 401
    assert webmail.server.mailboxes.list(BOB) == []
