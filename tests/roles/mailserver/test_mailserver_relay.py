# sender-mta -> receiver-mta relay, queue durability and a receiver that is down.
from __future__ import annotations

import asyncio
import poplib
import re
from pathlib import Path

import httpx

from labctl.model import MGMT
from roles.mailserver.storage import header_value
from tests.conftest import AGENT_HEADERS, TEST_PLAN
from tests.roles.conftest import (
    RECEIVER_INTERNET,
    SENDER_INTERNET,
    StartServer,
    free_port,
    wait_until,
)

from .queue_files import delivery_report
from .submission import ALICE, BOB, make_message, submit


def pop3_fetch_all(address: tuple[str, int], delete: bool) -> tuple[list[bytes], list[bytes]]:
    """Log in as Bob over POP3, return (UIDL lines, raw messages); DELE all when asked."""
    client = poplib.POP3(*address, timeout=10)
    try:
        client.user("bob")
        client.pass_("bob-pw")
        count, _ = client.stat()
        uids = client.uidl()[1]
        messages = [b"\r\n".join(client.retr(n)[1]) for n in range(1, count + 1)]
        if delete:
            for n in range(1, count + 1):
                client.dele(n)
    finally:
        client.quit()
    return uids, messages


async def test_relay_to_receiver_and_pop3_retrieval(start_server: StartServer) -> None:
    receiver = await start_server("receiver-mta")
    smtp_port = receiver.address("smtp")[1]
    assert (RECEIVER_INTERNET, smtp_port) in receiver.bound["smtp"]
    sender = await start_server("sender-mta", peer_smtp_ports={"receiver-mta": smtp_port})
    body = "line one\n.starts with a dot\n.\n..two dots\n"
    for n in range(3):
        message = make_message(ALICE, BOB, f"relay {n}", body)
        await asyncio.to_thread(submit, sender.address("submission"), message)
    await wait_until(lambda: len(receiver.mailboxes.list(BOB)) == 3)
    await wait_until(lambda: sender.queue.messages() == [])
    uids, messages = await asyncio.to_thread(pop3_fetch_all, receiver.address("pop3"), True)
    assert len(uids) == 3
    # Parallel relay connections: the three may arrive in any order.
    assert sorted(header_value(raw, "Subject") or "" for raw in messages) == [
        "relay 0", "relay 1", "relay 2"]
    for raw in messages:
        assert raw.count(b"Received: from ") == 2
        assert re.search(rb"Received: from mail\.crepes\.fr \(unknown \["
                         + re.escape(SENDER_INTERNET.encode()) + rb"\]\)\r\n"
                         rb"\tby mail\.hamburger\.edu \(maillab\) with ESMTP id [0-9]+\.\S+\r\n"
                         rb"\tfor <bob@hamburger\.edu>; ", raw), raw
        assert raw.endswith(b"line one\r\n.starts with a dot\r\n.\r\n..two dots")
    assert receiver.mailboxes.list(BOB) == []  # DELE + QUIT removed them


async def test_pop3_rejects_wrong_password_and_keeps_mail_without_dele(
        start_server: StartServer) -> None:
    receiver = await start_server("receiver-mta")
    receiver.mailboxes.deliver(BOB, b"Subject: kept\r\n\r\nbody\r\n")

    def wrong_password() -> str:
        client = poplib.POP3(*receiver.address("pop3"), timeout=10)
        client.user("bob@hamburger.edu")
        try:
            client.pass_("wrong")
        except poplib.error_proto as exc:
            return str(exc)
        finally:
            client.quit()
        return "accepted"

    assert "-ERR [AUTH] invalid user name or password" in await asyncio.to_thread(wrong_password)
    _, messages = await asyncio.to_thread(pop3_fetch_all, receiver.address("pop3"), False)
    assert messages == [b"Subject: kept\r\n\r\nbody"]
    assert len(receiver.mailboxes.list(BOB)) == 1


async def test_receiver_down_messages_stay_queued_then_each_is_delivered_once(
        start_server: StartServer) -> None:
    port = free_port(RECEIVER_INTERNET)
    sender = await start_server("sender-mta", peer_smtp_ports={"receiver-mta": port})
    for n in range(3):
        await asyncio.to_thread(submit, sender.address("submission"),
                                make_message(ALICE, BOB, f"while down {n}"))
    await wait_until(lambda: all(m.attempts >= 2 for m in sender.queue.messages()))
    queued = sender.queue.messages()
    assert len(queued) == 3
    assert all("cannot connect to receiver-mta" in (m.last_error or "") for m in queued)
    receiver = await start_server("receiver-mta", smtp_port=port)
    await wait_until(lambda: len(receiver.mailboxes.list(BOB)) >= 3)
    await wait_until(lambda: sender.queue.messages() == [])
    # nothing is left for a further retry pass that could deliver a second copy
    assert sender.relay.flush() == 0
    ids = sorted(header_value(receiver.mailboxes.read(BOB, m.id), "Message-ID") or ""
                 for m in receiver.mailboxes.list(BOB))
    assert ids == [f"<while-down-{n}@test>" for n in range(3)]


async def test_queue_survives_restart_of_the_server(start_server: StartServer,
                                                    tmp_path: Path) -> None:
    port = free_port(RECEIVER_INTERNET)
    data = tmp_path / "sender-data"
    first = await start_server("sender-mta", peer_smtp_ports={"receiver-mta": port},
                               data_dir=data)
    await asyncio.to_thread(submit, first.address("submission"),
                            make_message(ALICE, BOB, "durable"))
    await first.stop()
    second = await start_server("sender-mta", peer_smtp_ports={"receiver-mta": port},
                                data_dir=data)
    control_url = "http://{}:{}".format(*second.address("control"))
    async with httpx.AsyncClient(base_url=control_url, headers=AGENT_HEADERS) as http:
        queue = (await http.get("/queue")).json()
    assert [(q["mail_from"], q["rcpt_tos"], q["message_id"]) for q in queue] == [
        (ALICE, [BOB], "<durable@test>")]
    receiver = await start_server("receiver-mta", smtp_port=port)
    await wait_until(lambda: len(receiver.mailboxes.list(BOB)) == 1)
    await wait_until(lambda: second.queue.messages() == [])


async def test_non_lab_domain_fails_for_good_and_bounces(start_server: StartServer) -> None:
    sender = await start_server("sender-mta")
    await asyncio.to_thread(submit, sender.address("submission"),
                            make_message(ALICE, "carol@gmail.com", "outside"))
    await wait_until(lambda: sender.mailboxes.list(ALICE) != [])
    (failed,) = sender.queue.failed()
    assert failed.last_error is not None and "not a lab domain" in failed.last_error
    assert sender.queue.messages() == []
    (bounce,) = sender.mailboxes.list(ALICE)
    _, groups = delivery_report(sender.mailboxes.read(ALICE, bounce.id))
    assert [(g["Final-Recipient"], g["Status"]) for g in groups] == [
        ("rfc822; carol@gmail.com", "5.1.2")]


async def test_control_agent_endpoints(start_server: StartServer) -> None:
    receiver = await start_server("receiver-mta")
    host, port = receiver.address("control")
    assert host == TEST_PLAN.address("receiver-mta", MGMT)  # the management network only
    raw_message = b"Subject: Hello Bob\r\nMessage-ID: <m1@test>\r\n\r\nhi\r\n"
    message_id = receiver.mailboxes.deliver(BOB, raw_message)
    async with httpx.AsyncClient(base_url=f"http://{host}:{port}", headers=AGENT_HEADERS) as http:
        assert (await http.get("/health")).json() == {"role": "receiver-mta", "status": "ok"}
        assert (await http.get("/queue")).json() == []
        listing = (await http.get(f"/mailboxes/{BOB}")).json()
        assert listing == [{"id": message_id, "uid": 1, "size": len(raw_message), "flags": [],
                            "message_id": "<m1@test>", "subject": "Hello Bob"}]
        raw = await http.get(f"/mailboxes/{BOB}/{message_id}")
        assert raw.text.startswith("Subject: Hello Bob")
        assert (await http.get("/mailboxes/alice@crepes.fr")).status_code == 404
        assert (await http.get(f"/mailboxes/{BOB}/..%2F..%2Fetc")).status_code == 404
