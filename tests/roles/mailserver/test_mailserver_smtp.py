# SMTP (25) and submission (587) policy, checked with Python's real smtplib client.
from __future__ import annotations

import asyncio
import re
import smtplib

import pytest

from tests.roles.conftest import StartServer
from tests.roles.mailserver.submission import ALICE, ALICE_PC, BOB, make_message, submit


async def test_submission_auth_plain_delivers_locally(start_server: StartServer) -> None:
    server = await start_server("sender-mta")
    message = make_message(ALICE, ALICE, "note to self")
    await asyncio.to_thread(submit, server.address("submission"), message)
    stored = server.mailboxes.list(ALICE)
    assert len(stored) == 1
    data = server.mailboxes.read(ALICE, stored[0].id)
    assert re.match(rb"Return-Path: <alice@crepes\.fr>\r\n"
                    rb"Received: from alice-pc\.crepes\.fr \(unknown \["
                    + re.escape(ALICE_PC.encode()) + rb"\]\)\r\n"
                    rb"\tby mail\.crepes\.fr \(maillab\) with ESMTPA id [0-9]+\.\S+\r\n"
                    rb"\tfor <alice@crepes\.fr>; [A-Z][a-z][a-z], ", data), data
    assert b"Subject: note to self\r\n" in data
    maildir_new = server.settings.data_dir / "mailboxes" / ALICE / "new"
    assert [p.name for p in maildir_new.iterdir()] == [stored[0].id]


async def test_submission_auth_login_queues_remote_mail(start_server: StartServer) -> None:
    server = await start_server("sender-mta", peer_smtp_ports={"receiver-mta": 9})
    message = make_message(ALICE, BOB, "via login")
    await asyncio.to_thread(submit, server.address("submission"), message, "alice@crepes.fr",
                            "alice-pw", "LOGIN")
    queued = server.queue.messages()
    assert [(m.mail_from, m.rcpt_tos) for m in queued] == [(ALICE, [BOB])]
    files = list((server.settings.data_dir / "queue").glob("*.msg"))
    assert len(files) == 1 and files[0].read_bytes().startswith(b'{"mail_from": "alice@crepes.fr"')


async def test_greeting_and_ehlo(start_server: StartServer) -> None:
    server = await start_server("sender-mta")

    def dialog() -> tuple[tuple[int, bytes], dict[str, str], dict[str, str]]:
        with smtplib.SMTP(*server.address("smtp"), timeout=10) as mx:
            greeting = (mx.connect(*server.address("smtp")))
            mx.ehlo("peer")
            on_25 = dict(mx.esmtp_features)
        with smtplib.SMTP(*server.address("submission"), timeout=10) as msa:
            msa.ehlo("peer")
            on_587 = dict(msa.esmtp_features)
        return greeting, on_25, on_587

    greeting, on_25, on_587 = await asyncio.to_thread(dialog)
    assert greeting == (220, b"mail.crepes.fr ESMTP maillab")
    assert {"8bitmime", "size", "pipelining"} <= set(on_25)
    assert "auth" not in on_25
    assert on_587["auth"].split() == ["PLAIN", "LOGIN"]


async def test_wrong_password_gets_535(start_server: StartServer) -> None:
    server = await start_server("sender-mta")
    message = make_message(ALICE, BOB, "never")
    with pytest.raises(smtplib.SMTPAuthenticationError) as info:
        await asyncio.to_thread(submit, server.address("submission"), message, "alice", "nope")
    assert info.value.smtp_code == 535
    with pytest.raises(smtplib.SMTPAuthenticationError):
        await asyncio.to_thread(submit, server.address("submission"), message, "bob", "bob-pw")
    assert server.queue.messages() == []


async def test_submission_requires_auth_before_mail(start_server: StartServer) -> None:
    server = await start_server("sender-mta")

    def mail_without_auth() -> tuple[int, bytes]:
        with smtplib.SMTP(*server.address("submission"), timeout=10) as client:
            client.ehlo("x")
            return client.mail(ALICE)

    assert (await asyncio.to_thread(mail_without_auth))[0] == 530


async def test_port_25_unknown_user_550_and_relay_denied(start_server: StartServer) -> None:
    server = await start_server("receiver-mta")

    def dialog() -> list[tuple[int, bytes]]:
        with smtplib.SMTP(*server.address("smtp"), timeout=10) as client:
            client.ehlo("mallory.example")
            replies = [client.docmd("AUTH", "PLAIN AGFsaWNlAGFsaWNlLXB3")]  # no AUTH on 25
            replies.append(client.mail("mallory@evil.example"))
            replies.append(client.rcpt("nobody@hamburger.edu"))
            replies.append(client.rcpt("alice@crepes.fr"))
            replies.append(client.rcpt("someone@gmail.com"))
            replies.append(client.docmd("AUTH", "PLAIN AGFsaWNlAGFsaWNlLXB3"))  # in transaction
            replies.append(client.rcpt("BOB@hamburger.edu"))
            return replies

    replies = await asyncio.to_thread(dialog)
    assert [code for code, _ in replies] == [502, 250, 550, 554, 554, 503, 250]
    assert b"User unknown" in replies[2][1]
    assert b"Relay access denied" in replies[3][1]
    assert server.queue.messages() == []


async def test_port_25_accepts_mail_for_local_user(start_server: StartServer) -> None:
    server = await start_server("receiver-mta")
    message = make_message("someone@elsewhere.example", BOB, "inbound")

    def send() -> dict[str, tuple[int, bytes]]:
        with smtplib.SMTP(*server.address("smtp"), timeout=10) as client:
            return client.send_message(message)

    assert await asyncio.to_thread(send) == {}
    assert len(server.mailboxes.list(BOB)) == 1
    assert server.queue.messages() == []
