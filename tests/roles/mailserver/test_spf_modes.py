# The spoofing exercise on in-process servers with a real lab name server: mallory (at
# its test-lab address) talks SMTP straight to mail.hamburger.edu with MAIL FROM:<alice@crepes.fr>.
# spf off: accepted as the lecture shows; junk: marked and filed in Bob's Junk folder;
# reject: 550 5.7.23. Alice's mail relayed by mail.crepes.fr passes.
from __future__ import annotations

import asyncio
import dataclasses
import smtplib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from labctl.model.options import LabOptions, SpfMode
from roles.dns.server import DnsServer
from roles.mailserver.server import MailServer
from roles.mailserver.storage import Mailboxes
from tests.roles.conftest import MALLORY, SENDER_INTERNET, settings_for, wait_until

from .submission import ALICE, BOB, make_message, submit

StartReceiver = Callable[[SpfMode], Awaitable[tuple[MailServer, Mailboxes]]]


@pytest.fixture
async def start_receiver(tmp_path: Path, lab_dns: DnsServer) -> AsyncIterator[StartReceiver]:
    """Factory: mail.hamburger.edu in-process with the given SPF mode."""
    running: list[MailServer] = []

    async def start(spf: SpfMode) -> tuple[MailServer, Mailboxes]:
        base = settings_for("receiver-mta", tmp_path / "receiver", resolver=lab_dns.address)
        server = MailServer(dataclasses.replace(base, options=LabOptions(spf=spf)))
        await server.start(control_agent=False)
        running.append(server)
        return server, server.mailboxes

    yield start
    for server in running:
        await server.stop()


def forge_from_mallory(server: tuple[str, int]) -> tuple[int, bytes]:
    """mallory's session: a forged MAIL FROM:<alice@crepes.fr>; the reply to the data."""
    with smtplib.SMTP(*server, source_address=(MALLORY, 0), timeout=10) as client:
        client.ehlo("mallory.internet.test")
        client.mail(ALICE)
        client.rcpt(BOB)
        return client.data(make_message(ALICE, BOB, "Your account", "send me your password\n")
                           .as_bytes())


async def only_message(mailboxes: Mailboxes) -> tuple[bytes, str]:
    """The one message in Bob's mailbox, and the folder (INBOX or Junk) that holds it."""
    found = [(folder, stored) for folder in ("INBOX", "Junk")
             for stored in mailboxes.list(BOB, folder)]
    assert len(found) == 1, found
    ((folder, stored),) = found
    data = mailboxes.read(BOB, stored.id, folder)
    assert data.startswith(b"Return-Path: <"), data[:80]
    return data.split(b"\r\n", 1)[1], folder  # what SPF and SMTP added, after Return-Path


async def test_spf_off_accepts_the_forged_sender(start_receiver: StartReceiver) -> None:
    server, mailboxes = await start_receiver("off")
    code, _ = await asyncio.to_thread(forge_from_mallory, server.address("smtp"))
    assert code == 250
    data, folder = await only_message(mailboxes)
    assert folder == "INBOX" and b"Received-SPF" not in data
    assert b"From: alice@crepes.fr" in data and f"[{MALLORY}])".encode() in data


async def test_spf_junk_marks_the_forgery_and_files_it_in_junk(
        start_receiver: StartReceiver) -> None:
    server, mailboxes = await start_receiver("junk")
    code, _ = await asyncio.to_thread(forge_from_mallory, server.address("smtp"))
    assert code == 250
    data, folder = await only_message(mailboxes)
    assert folder == "Junk"
    assert data.startswith((
        "Received-SPF: fail (mail.hamburger.edu: domain of alice@crepes.fr does not designate"
        f" {MALLORY} as permitted sender)\r\n\tclient-ip={MALLORY}; "
        'envelope-from="alice@crepes.fr"; helo=mallory.internet.test;\r\n').encode())
    assert (b"Authentication-Results: mail.hamburger.edu;\r\n\tspf=fail "
            b"smtp.mailfrom=alice@crepes.fr\r\n") in data
    assert data.index(b"Received-SPF:") < data.index(b"Received: from mallory")


async def test_spf_reject_refuses_the_forgery_with_550_5_7_23(
        start_receiver: StartReceiver) -> None:
    server, mailboxes = await start_receiver("reject")
    code, text = await asyncio.to_thread(forge_from_mallory, server.address("smtp"))
    assert code == 550
    assert text.startswith(b"5.7.23 SPF check failed: domain of alice@crepes.fr does not")
    assert mailboxes.list(BOB) == []


@pytest.mark.parametrize("spf", ["junk", "reject"])
async def test_mail_relayed_by_mail_crepes_fr_passes(
        start_receiver: StartReceiver, tmp_path: Path, lab_dns: DnsServer, spf: SpfMode) -> None:
    receiver, mailboxes = await start_receiver(spf)
    settings = settings_for("sender-mta", tmp_path / "sender", resolver=lab_dns.address,
                            peer_smtp_ports={"receiver-mta": receiver.address("smtp")[1]})
    sender = MailServer(settings)
    await sender.start(control_agent=False)
    try:
        await asyncio.to_thread(submit, sender.address("submission"),
                                make_message(ALICE, BOB, "from the real Alice"))
        await wait_until(lambda: bool(mailboxes.list(BOB)))
    finally:
        await sender.stop()
    data, folder = await only_message(mailboxes)
    assert folder == "INBOX"
    assert data.startswith(b"Received-SPF: pass (mail.hamburger.edu: domain of alice@crepes.fr "
                           + f"designates {SENDER_INTERNET} as permitted sender)".encode())
    assert b"spf=pass smtp.mailfrom=alice@crepes.fr" in data


async def test_submission_is_not_checked(start_receiver: StartReceiver) -> None:
    server, mailboxes = await start_receiver("reject")
    await asyncio.to_thread(submit, server.address("submission"),
                            make_message(BOB, BOB, "note to self"), "bob@hamburger.edu", "bob-pw")
    data, folder = await only_message(mailboxes)
    assert folder == "INBOX" and b"Received-SPF" not in data
