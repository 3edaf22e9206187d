# Real third-party clients against our mail server: swaks submits with AUTH LOGIN
# and PLAIN, curl sends over SMTP and lists and retrieves over POP3.
from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import pytest

from tests.peers.tools import require_tool, run
from tests.roles.conftest import StartServer, wait_until

BOB, BOB_PW = "bob@hamburger.edu", "bob-pw"


@pytest.mark.parametrize("mechanism", ["LOGIN", "PLAIN"])
async def test_swaks_submits_with_auth(start_server: StartServer, mechanism: str) -> None:
    server = await start_server("receiver-mta")
    host, port = server.address("submission")
    result = await asyncio.to_thread(run, [
        "swaks", "--server", f"{host}:{port}", "--from", BOB, "--to", BOB,
        "--auth", mechanism, "--auth-user", BOB, "--auth-password", BOB_PW,
        "--header", "Subject: swaks was here", "--body", "hello from swaks",
    ])
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    assert b"<-  235 " in result.stdout and b"<-  250 2.0.0 Ok: queued" in result.stdout
    await wait_until(lambda: bool(server.mailboxes.list(BOB)))


async def test_swaks_without_auth_is_refused_on_submission(start_server: StartServer) -> None:
    server = await start_server("receiver-mta")
    host, port = server.address("submission")
    result = await asyncio.to_thread(run, [
        "swaks", "--server", f"{host}:{port}", "--from", BOB, "--to", BOB,
    ])
    assert result.returncode != 0 and b"530" in result.stdout


async def test_curl_sends_over_smtp_and_retrieves_over_pop3(start_server: StartServer) -> None:
    server = await start_server("receiver-mta")
    host, port = server.address("submission")
    message = (b"From: <bob@hamburger.edu>\r\nTo: <bob@hamburger.edu>\r\n"
               b"Subject: curl\r\n\r\n.a line starting with a dot\r\nbye\r\n")
    sent = await asyncio.to_thread(run, [
        "curl", "-sS", f"smtp://{host}:{port}", "--mail-from", BOB, "--mail-rcpt", BOB,
        "--user", f"{BOB}:{BOB_PW}", "--upload-file", "-",
    ], message)
    assert sent.returncode == 0, sent.stderr.decode()
    await wait_until(lambda: bool(server.mailboxes.list(BOB)))
    pop_host, pop_port = server.address("pop3")
    listing = await asyncio.to_thread(
        run, ["curl", "-sS", f"pop3://{pop_host}:{pop_port}/", "--user", f"bob:{BOB_PW}"]
    )
    assert listing.returncode == 0 and listing.stdout.startswith(b"1 "), listing
    retrieved = await asyncio.to_thread(
        run, ["curl", "-sS", f"pop3://{pop_host}:{pop_port}/1", "--user", f"bob:{BOB_PW}"]
    )
    assert retrieved.returncode == 0, retrieved.stderr.decode()
    assert b"\r\n.a line starting with a dot\r\n" in retrieved.stdout


async def test_swaks_pipelines_a_whole_transaction(start_server: StartServer) -> None:
    server = await start_server("receiver-mta")
    host, port = server.address("submission")
    result = await asyncio.to_thread(run, [
        "swaks", "--server", f"{host}:{port}", "--from", BOB, "--to", BOB, "--pipeline",
        "--auth", "PLAIN", "--auth-user", BOB, "--auth-password", BOB_PW,
        "--header", "Subject: pipelined", "--body", "sent in one go",
    ])
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    # swaks sends MAIL, RCPT and DATA in one write only when PIPELINING was advertised
    assert b"<-  250-PIPELINING" in result.stdout
    assert b" -> MAIL FROM:<bob@hamburger.edu>\n -> RCPT TO:<bob@hamburger.edu>\n -> DATA" \
        in result.stdout.replace(b"\r\n", b"\n")
    await wait_until(lambda: bool(server.mailboxes.list(BOB)))


async def test_s_nail_submits_with_auth(start_server: StartServer, tmp_path: Path) -> None:
    server = await start_server("receiver-mta")
    host, port = server.address("submission")
    environment = {"HOME": str(tmp_path), "MAILRC": "/dev/null", "PATH": os.environ["PATH"]}
    command = [
        "s-nail", "-n", "-#", "-S", "v15-compat", "-S", "sendwait",
        "-S", f"mta=smtp://bob:{BOB_PW}@{host}:{port}", "-S", "smtp-auth=plain",
        "-S", f"from={BOB}", "-s", "from s-nail", BOB,
    ]
    require_tool("s-nail")
    result = await asyncio.to_thread(
        subprocess.run, command, input=b"Written in s-nail.\n", capture_output=True,
        timeout=30, env=environment,
    )
    assert result.returncode == 0, result.stderr.decode()
    await wait_until(lambda: bool(server.mailboxes.list(BOB)))
    (stored,) = server.mailboxes.list(BOB)
    data = server.mailboxes.read(BOB, stored.id)
    assert b"Subject: from s-nail" in data and b"Written in s-nail." in data
