# STARTTLS (RFC 3207) on the real server: smtplib and swaks upgrade and verify the lab
# CA's certificate, poplib does the same with STLS (RFC 2595), and commands pipelined
# after STARTTLS or STLS are never executed.
from __future__ import annotations

import asyncio
import dataclasses
import poplib
import smtplib
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from labctl.protocols import pop3, smtp
from labctl.tls_ca import CA_CERTIFICATE, client_context
from roles.mailserver.server import MailServer
from tests.peers.tools import run
from tests.roles.conftest import settings_for
from tests.roles.mailserver.line_client import LineClient

ALICE, BOB = "alice@crepes.fr", "bob@hamburger.edu"
StartTlsServer = Callable[[str], Awaitable[MailServer]]


@pytest.fixture
async def tls_server(tmp_path: Path) -> AsyncIterator[StartTlsServer]:
    """Factory: a mail server whose certificates come from a lab CA in tmp_path/tls."""
    running: list[MailServer] = []

    async def start(role: str) -> MailServer:
        settings = settings_for(role, tmp_path / role)
        settings = dataclasses.replace(settings, tls_dir=tmp_path / "tls")
        server = MailServer(settings)
        await server.start(control_agent=False)
        running.append(server)
        return server

    yield start
    for server in running:
        await server.stop()


def submit_over_tls(server: MailServer, context: ssl.SSLContext) -> dict[str, tuple[int, bytes]]:
    """EHLO, STARTTLS (verifying with `context`), EHLO, AUTH, one message (blocking)."""
    host, port = server.address("submission")
    with smtplib.SMTP(host, port, timeout=10) as client:
        client.ehlo("alice-pc.crepes.fr")
        assert client.has_extn("starttls")
        client.starttls(context=context)
        client.ehlo("alice-pc.crepes.fr")
        assert not client.has_extn("starttls")
        client.login("alice", "alice-pw")
        return client.sendmail(ALICE, [ALICE], b"Subject: over TLS\r\n\r\nsecret\r\n")


async def test_smtplib_starttls_with_the_lab_ca(tls_server: StartTlsServer) -> None:
    server = await tls_server("sender-mta")
    context = client_context(server.settings.tls_dir or Path())
    assert await asyncio.to_thread(submit_over_tls, server, context) == {}
    stored = server.mailboxes.list(ALICE)
    assert len(stored) == 1
    data = server.mailboxes.read(ALICE, stored[0].id)
    assert data.endswith(b"Subject: over TLS\r\n\r\nsecret\r\n")


async def test_untrusted_ca_fails_the_handshake(tls_server: StartTlsServer) -> None:
    server = await tls_server("sender-mta")
    with pytest.raises(ssl.SSLCertVerificationError):
        await asyncio.to_thread(submit_over_tls, server, ssl.create_default_context())
    assert server.mailboxes.list(ALICE) == []


@pytest.mark.parametrize(("role", "name", "ok"), [
    ("sender-mta", "mail.crepes.fr", True), ("receiver-mta", "mail.hamburger.edu", True),
    ("sender-mta", "mail.hamburger.edu", False),
])
async def test_certificate_names_the_host(tls_server: StartTlsServer, role: str, name: str,
                                          ok: bool) -> None:
    server = await tls_server(role)
    client = await LineClient.connect(server, "smtp")
    features = await client.ask(b"EHLO peer.example")
    assert b"250 STARTTLS\r\n" in features or b"250-STARTTLS\r\n" in features
    assert await client.ask(b"STARTTLS") == smtp.replies.READY_TO_START_TLS.to_bytes()
    context = client_context(server.settings.tls_dir or Path())
    if not ok:
        with pytest.raises(ssl.SSLCertVerificationError):
            await client.writer.start_tls(context, server_hostname=name)
        return
    await client.writer.start_tls(context, server_hostname=name)
    assert await client.ask(b"MAIL FROM:<a@b.example>") == smtp.replies.SEND_HELLO_FIRST.to_bytes()
    assert (await client.ask(b"EHLO peer.example")).startswith(b"250-")
    await client.close()


async def test_commands_pipelined_after_starttls_are_not_executed(
        tls_server: StartTlsServer) -> None:
    server = await tls_server("receiver-mta")
    client = await LineClient.connect(server, "smtp")
    await client.ask(b"EHLO peer.example")
    injected = (b"STARTTLS\r\nMAIL FROM:<mallory@evil.example>\r\nRCPT TO:<bob@hamburger.edu>\r\n"
                b"DATA\r\nSubject: injected\r\n\r\nx\r\n.\r\n")
    client.writer.write(injected)
    assert await client.read_reply() == smtp.replies.READY_TO_START_TLS.to_bytes()
    await client.writer.start_tls(client_context(server.settings.tls_dir or Path()),
                                  server_hostname="mail.hamburger.edu")
    assert await client.ask(b"RCPT TO:<bob@hamburger.edu>") == (
        smtp.replies.BAD_SEQUENCE.to_bytes())  # no MAIL FROM survived the upgrade
    await client.ask(b"EHLO peer.example")
    assert await client.ask(b"DATA") == smtp.replies.BAD_SEQUENCE.to_bytes()
    await client.close()
    assert server.mailboxes.list(BOB) == []


async def test_swaks_tls_verifies_the_lab_ca(tls_server: StartTlsServer) -> None:
    server = await tls_server("receiver-mta")
    host, port = server.address("submission")
    ca = str((server.settings.tls_dir or Path()) / CA_CERTIFICATE)
    result = await asyncio.to_thread(run, [
        "swaks", "--server", f"{host}:{port}", "--tls", "--tls-verify", "--tls-ca-path", ca,
        "--from", BOB, "--to", BOB, "--auth", "PLAIN", "--auth-user", BOB,
        "--auth-password", "bob-pw", "--header", "Subject: swaks over TLS",
    ])
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    assert b"<-  220 2.0.0 Ready to start TLS" in result.stdout
    assert b"TLS started" in result.stdout and b"<~  250 2.0.0 Ok: queued" in result.stdout
    assert len(server.mailboxes.list(BOB)) == 1


def fetch_over_stls(server: MailServer, context: ssl.SSLContext) -> tuple[list[bytes], int]:
    """CAPA, STLS (verifying with `context`), CAPA again, login, STAT (blocking)."""
    host, port = server.address("pop3")
    client = poplib.POP3(host, port, timeout=10)
    try:
        assert "STLS" in client.capa()
        client.stls(context=context)
        capabilities = client.capa()
        assert "STLS" not in capabilities
        client.user("bob")
        client.pass_("bob-pw")
        return client.retr(1)[1], client.stat()[0]
    finally:
        client.quit()


async def test_poplib_stls_with_the_lab_ca(tls_server: StartTlsServer) -> None:
    server = await tls_server("receiver-mta")
    server.mailboxes.deliver(BOB, b"Subject: fetched over TLS\r\n\r\nhello\r\n")
    context = client_context(server.settings.tls_dir or Path())
    lines, count = await asyncio.to_thread(fetch_over_stls, server, context)
    assert (lines, count) == ([b"Subject: fetched over TLS", b"", b"hello"], 1)


async def test_pop3_commands_pipelined_after_stls_are_not_executed(
        tls_server: StartTlsServer) -> None:
    server = await tls_server("receiver-mta")
    server.mailboxes.deliver(BOB, b"Subject: keep me\r\n\r\nx\r\n")
    client = await LineClient.connect(server, "pop3")
    client.writer.write(b"STLS\r\nUSER bob\r\nPASS bob-pw\r\nDELE 1\r\nQUIT\r\n")
    assert await client.read_reply() == pop3.replies.READY_TO_START_TLS.to_bytes()
    await client.writer.start_tls(client_context(server.settings.tls_dir or Path()),
                                  server_hostname="mail.hamburger.edu")
    assert await client.ask(b"STAT") == pop3.replies.NOT_BEFORE_LOGIN.to_bytes(verb="STAT")
    assert (await client.ask(b"QUIT")).startswith(b"+OK")
    await client.close()
    assert len(server.mailboxes.list(BOB)) == 1
