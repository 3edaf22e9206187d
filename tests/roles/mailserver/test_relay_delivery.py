# The relay worker against scripted and real receivers: poison envelopes fail alone,
# persistent and parallel connections, 4xx backoff, 5xx and expiry bounces as RFC 3464
# DSNs, and no bounce for a bounce.
from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from labctl.model.options import LabOptions
from labctl.protocols import smtp
from roles.mailserver import relay
from roles.mailserver.server import MailServer
from tests.conftest import AGENT_HEADERS
from tests.roles.conftest import RECEIVER_INTERNET, StartServer, wait_until

from .fake_receiver import FakeReceiver, start_fake_receiver
from .queue_files import delivery_report, raw_message, write_queue_file
from .submission import ALICE, BOB, make_message, submit

StartFake = Callable[[FakeReceiver], Awaitable[int]]


@pytest.fixture
async def start_fake() -> AsyncIterator[StartFake]:
    """Factory: a FakeReceiver on receiver-mta's internet address; returns its port."""
    servers: list[asyncio.Server] = []

    async def start(fake: FakeReceiver) -> int:
        _, server = await start_fake_receiver(RECEIVER_INTERNET, receiver=fake)
        servers.append(server)
        return int(server.sockets[0].getsockname()[1])

    yield start
    for server in servers:
        server.close()


async def sender_queueing_to(fake: FakeReceiver, start_server: StartServer, start_fake: StartFake,
                             data: Path, subjects: list[str], **changes: Any) -> MailServer:
    """A sender-mta whose queue holds one message per subject (Alice to Bob), relaying to fake."""
    port = await start_fake(fake)
    for n, subject in enumerate(subjects):
        write_queue_file(data, f"{n}.{subject}", ALICE, [BOB], raw_message(subject))
    return await start_server("sender-mta", data_dir=data,
                              peer_smtp_ports={"receiver-mta": port}, **changes)


async def test_poison_envelopes_fail_alone_and_later_mail_is_relayed(
        start_server: StartServer, tmp_path: Path) -> None:
    receiver = await start_server("receiver-mta")
    data = tmp_path / "sender"
    write_queue_file(data, "1.accent", "élise@crepes.fr", [BOB], raw_message("accent"))
    write_queue_file(data, "2.nul", "a\x00b@crepes.fr", [BOB], raw_message("nul"))
    write_queue_file(data, "3.crlf", ALICE, [f"{BOB}>\r\nRSET"], raw_message("crlf"))
    write_queue_file(data, "4.none", ALICE, [], raw_message("none"))
    write_queue_file(data, "5.good", ALICE, [BOB], raw_message("good"))
    sender = await start_server("sender-mta", data_dir=data,
                                peer_smtp_ports={"receiver-mta": receiver.address("smtp")[1]})
    await wait_until(lambda: len(receiver.mailboxes.list(BOB)) == 1)
    await wait_until(lambda: len(sender.queue.failed()) == 4 and sender.queue.messages() == [])
    control_url = "http://{}:{}".format(*sender.address("control"))
    async with httpx.AsyncClient(base_url=control_url, headers=AGENT_HEADERS) as h:
        failed = {e["id"]: e for e in (await h.get("/queue/failed")).json()}
    assert set(failed) == {"1.accent", "2.nul", "3.crlf", "4.none"}
    assert "<\\xe9lise@crepes.fr> cannot be sent over SMTP" in failed["1.accent"]["last_error"]
    assert "<a\\x00b@crepes.fr>" in failed["2.nul"]["last_error"]
    assert "\\r\\nRSET" in failed["3.crlf"]["last_error"]
    assert "no recipients" in failed["4.none"]["last_error"]
    assert all(e["state"] == "failed" and e["attempts"] == 1 for e in failed.values())
    (stored,) = receiver.mailboxes.list(BOB)
    assert b"Subject: good" in receiver.mailboxes.read(BOB, stored.id)
    await wait_until(lambda: sender.mailboxes.list(ALICE) != [])  # bounces follow the failure
    (dsn,) = sender.mailboxes.list(ALICE)  # only the CRLF one had a usable local sender
    _, groups = delivery_report(sender.mailboxes.read(ALICE, dsn.id))
    assert [g["Status"] for g in groups] == ["5.1.3"]


async def test_two_messages_cross_one_connection_when_concurrency_is_1(
        start_server: StartServer, start_fake: StartFake, tmp_path: Path) -> None:
    fake = FakeReceiver()
    sender = await sender_queueing_to(fake, start_server, start_fake, tmp_path / "sender",
                                      ["together0", "together1"],
                                      options=LabOptions(relay_concurrency=1))
    await wait_until(lambda: len(fake.transactions) == 2 and sender.queue.messages() == [])
    assert fake.connections == 1


def _has_received(fake: FakeReceiver, count: int) -> bool:
    return len(fake.transactions) == count


async def _send_one_at_a_time(sender: MailServer, fake: FakeReceiver, count: int) -> None:
    """Submit `count` messages, each only once the previous one reached `fake`."""
    for n in range(count):
        await asyncio.to_thread(submit, sender.address("submission"),
                                make_message(ALICE, BOB, f"single{n}"))
        await wait_until(functools.partial(_has_received, fake, n + 1))


async def test_a_few_single_messages_each_cross_their_own_connection_and_quit(
        start_server: StartServer, start_fake: StartFake, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(relay, "STREAM_WINDOW_SECONDS", 60.0)  # a slow machine is no excuse
    fake = FakeReceiver()
    sender = await sender_queueing_to(fake, start_server, start_fake, tmp_path / "sender", [])
    await _send_one_at_a_time(sender, fake, relay.STREAM_MESSAGES - 1)
    await wait_until(lambda: fake.open_now == 0)  # each connection ended with its QUIT
    assert fake.connections == relay.STREAM_MESSAGES - 1


async def test_a_stream_of_single_messages_keeps_one_connection(
        start_server: StartServer, start_fake: StartFake, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(relay, "STREAM_WINDOW_SECONDS", 60.0)
    monkeypatch.setattr(relay, "IDLE_CONNECTION_SECONDS", 60.0)
    fake = FakeReceiver()
    sender = await sender_queueing_to(fake, start_server, start_fake, tmp_path / "sender", [])
    await _send_one_at_a_time(sender, fake, relay.STREAM_MESSAGES + 5)
    # the first STREAM_MESSAGES came one per connection; the stream then kept the last one
    assert (fake.connections, fake.open_now) == (relay.STREAM_MESSAGES, 1)


async def test_connections_open_up_to_the_concurrency_and_share_the_work(
        start_server: StartServer, start_fake: StartFake, tmp_path: Path) -> None:
    fake = FakeReceiver()
    fake.release.clear()  # hold every transaction at its final "." until all are open
    sender = await sender_queueing_to(fake, start_server, start_fake, tmp_path / "sender",
                                      [f"parallel{n}" for n in range(7)],
                                      options=LabOptions(relay_concurrency=3))
    await wait_until(lambda: fake.open_now == 3)
    fake.release.set()
    await wait_until(lambda: len(fake.transactions) == 7 and sender.queue.messages() == [])
    assert (fake.connections, fake.most_open) == (3, 3)
    subjects = sorted(t.data.split(b"Subject: ")[1].split(b"\r\n")[0] for t in fake.transactions)
    assert subjects == [f"parallel{n}".encode() for n in range(7)]


async def test_4xx_is_retried_with_backoff_then_delivered_once(
        start_server: StartServer, start_fake: StartFake, tmp_path: Path) -> None:
    fake = FakeReceiver(data_reply=lambda n: smtp.Reply.of(451 if n == 1 else 250, "4.3.0 busy"))
    sender = await sender_queueing_to(fake, start_server, start_fake, tmp_path / "sender",
                                      ["busy"], retry_base_seconds=1.0)
    await wait_until(lambda: any(m.attempts == 1 and "451 4.3.0 busy" in (m.last_error or "")
                                 for m in sender.queue.messages()))
    await wait_until(lambda: sender.queue.messages() == [])
    assert (fake.data_ends, len(fake.transactions)) == (2, 1)
    assert sender.queue.failed() == []


async def test_a_message_deferred_past_its_lifetime_bounces_with_4_4_7(
        start_server: StartServer, start_fake: StartFake, tmp_path: Path) -> None:
    fake = FakeReceiver(rcpt_reply=lambda rcpt: smtp.Reply.of(450, "4.2.1 try later"))
    sender = await sender_queueing_to(fake, start_server, start_fake, tmp_path / "sender",
                                      ["late"], max_queue_lifetime_seconds=1.0)
    await wait_until(lambda: sender.mailboxes.list(ALICE) != [])
    assert sender.queue.messages() == [] and fake.transactions == []
    (failed,) = sender.queue.failed()
    assert failed.attempts >= 2 and "450 4.2.1 try later" in (failed.last_error or "")
    (dsn,) = sender.mailboxes.list(ALICE)
    raw = sender.mailboxes.read(ALICE, dsn.id)
    message, groups = delivery_report(raw)
    assert raw.startswith(b"Return-Path: <>\r\n")
    assert message["From"] == "Mail Delivery System <MAILER-DAEMON@mail.crepes.fr>"
    assert [(g["Final-Recipient"], g["Action"], g["Status"]) for g in groups] == [
        (f"rfc822; {BOB}", "failed", "4.4.7")]
    assert b"Subject: late\r\n" in raw


async def test_5xx_bounces_at_once_with_a_dsn_for_that_recipient_only(
        start_server: StartServer) -> None:
    receiver = await start_server("receiver-mta")
    sender = await start_server("sender-mta",
                                peer_smtp_ports={"receiver-mta": receiver.address("smtp")[1]})
    message = make_message(ALICE, BOB, "half wrong")
    del message["To"]
    message["To"] = f"{BOB}, nobody@hamburger.edu"
    await asyncio.to_thread(submit, sender.address("submission"), message)
    await wait_until(lambda: sender.mailboxes.list(ALICE) != [])
    await wait_until(lambda: len(receiver.mailboxes.list(BOB)) == 1)
    (dsn,) = sender.mailboxes.list(ALICE)
    _, groups = delivery_report(sender.mailboxes.read(ALICE, dsn.id))
    (group,) = groups
    assert group["Final-Recipient"] == "rfc822; nobody@hamburger.edu"
    assert group["Status"] == "5.1.1" and group["Remote-MTA"] == "dns; mail.hamburger.edu"
    assert group["Diagnostic-Code"].startswith("smtp; 550 5.1.1")
    assert sender.queue.messages() == []


async def test_a_bounce_is_never_bounced_and_a_remote_sender_gets_its_dsn_relayed(
        start_server: StartServer, tmp_path: Path) -> None:
    receiver = await start_server("receiver-mta")
    data = tmp_path / "sender"
    write_queue_file(data, "1.null", "", ["nobody@hamburger.edu"], raw_message("null"))
    write_queue_file(data, "2.remote", BOB, ["nobody@hamburger.edu"], raw_message("remote"))
    sender = await start_server("sender-mta", data_dir=data,
                                peer_smtp_ports={"receiver-mta": receiver.address("smtp")[1]})
    await wait_until(lambda: len(receiver.mailboxes.list(BOB)) == 1)
    await wait_until(lambda: len(sender.queue.failed()) == 2 and sender.queue.messages() == [])
    (dsn,) = receiver.mailboxes.list(BOB)  # for 2.remote only: 1.null had a null sender
    raw = receiver.mailboxes.read(BOB, dsn.id)
    assert raw.startswith(b"Return-Path: <>\r\n") and b"Subject: remote\r\n" in raw
    assert sender.mailboxes.list(ALICE) == []


async def test_a_message_being_sent_cannot_be_deleted_one_waiting_can(
        start_server: StartServer, start_fake: StartFake, tmp_path: Path) -> None:
    fake = FakeReceiver()
    fake.release.clear()  # the first message stays in flight at its final "."
    sender = await sender_queueing_to(fake, start_server, start_fake, tmp_path / "sender",
                                      ["inflight", "waiting"],
                                      options=LabOptions(relay_concurrency=1))
    await wait_until(lambda: fake.held == 1)  # its "." is sent: the relay is delivering it
    base_url = "http://{}:{}".format(*sender.address("control"))
    async with httpx.AsyncClient(base_url=base_url, headers=AGENT_HEADERS) as control:
        busy = await control.delete("/queue/0.inflight")
        assert busy.status_code == 409 and "being delivered" in busy.json()["detail"]
        assert (await control.delete("/queue/1.waiting")).json() == {"deleted": "1.waiting"}
    fake.release.set()
    await wait_until(lambda: len(fake.transactions) == 1 and sender.queue.messages() == [])
    assert b"Subject: inflight" in fake.transactions[0].data
