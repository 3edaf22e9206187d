# SMTP smuggling against the real server: a lookalike end of data never ends the
# message, the smuggled transaction is stored as text of the one message. The mailbox
# store keeps lines with LF on disk and hands them out with CRLF (as Postfix and Dovecot
# do), so the stored text is compared with its line endings made CRLF.
from __future__ import annotations

import pytest

from labctl.protocols import smtp
from tests.protocols.test_smtp_smuggling import LOOKALIKES, MESSAGE_HEAD, smuggling_data
from tests.roles.conftest import StartServer
from tests.roles.mailserver.line_client import LineClient

BOB = "bob@hamburger.edu"


@pytest.mark.parametrize("name", sorted(LOOKALIKES))
async def test_smuggled_transaction_is_stored_as_text(start_server: StartServer,
                                                      name: str) -> None:
    end, kept = LOOKALIKES[name]
    server = await start_server("receiver-mta")
    client = await LineClient.connect(server, "smtp")
    await client.ask(b"EHLO peer.example")
    assert (await client.ask(b"MAIL FROM:<alice@crepes.fr>")).startswith(b"250 ")
    assert (await client.ask(f"RCPT TO:<{BOB}>".encode())).startswith(b"250 ")
    assert (await client.ask(b"DATA")).startswith(b"354 ")
    client.writer.write(smuggling_data(end))
    assert (await client.read_reply()).startswith(b"250 2.0.0 Ok: queued as ")
    assert await client.ask(b"QUIT") == smtp.replies.BYE.to_bytes()  # no reply was pending
    await client.close()
    stored = server.mailboxes.list(BOB)
    assert len(stored) == 1
    received_header, _, data = server.mailboxes.read(BOB, stored[0].id).partition(MESSAGE_HEAD)
    assert received_header.startswith(b"Return-Path: <alice@crepes.fr>\r\n"
                                      b"Received: from peer.example")
    assert data == crlf_lines(kept)


def crlf_lines(data: bytes) -> bytes:
    """`data` with every line ending (CRLF or bare LF) made CRLF."""
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
