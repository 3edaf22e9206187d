# Senders and recipients with control characters or (without SMTPUTF8) non-ASCII
# characters are refused by the real server with a 5xx; no such mail is ever stored.
from __future__ import annotations

import pytest

from tests.roles.conftest import StartServer
from tests.roles.mailserver.line_client import LineClient

BOB = "bob@hamburger.edu"


@pytest.mark.parametrize(
    ("command", "reply"),
    [
        ("MAIL FROM:<al\0ice@crepes.fr>", b"501 5.1.7 "),
        ("MAIL FROM:<élise@crepes.fr>", b"553 5.6.7 "),
        ("MAIL FROM:<alice@crepes.fr> SMTPUTF8", b"555 5.5.4 "),
        ("MAIL FROM:<alice@crepes.fr> BODY=BINARYMIME", b"501 5.5.4 "),
        ("MAIL FROM:<alice@crepes.fr> XFORWARD=1", b"555 5.5.4 "),
    ],
)
async def test_bad_sender_is_refused_and_nothing_stored(
        start_server: StartServer, command: str, reply: bytes) -> None:
    server = await start_server("receiver-mta")
    client = await LineClient.connect(server, "smtp")
    await client.ask(b"EHLO peer.example")
    assert (await client.ask(command.encode())).startswith(reply)
    assert (await client.ask(f"RCPT TO:<{BOB}>".encode())).startswith(b"503 ")
    assert (await client.ask(b"DATA")).startswith(b"503 ")
    assert (await client.ask(b"QUIT")).startswith(b"221 ")
    await client.close()
    assert server.mailboxes.list(BOB) == []


@pytest.mark.parametrize("recipient", ["bob\0@hamburger.edu", "böb@hamburger.edu"])
async def test_bad_recipient_is_refused(start_server: StartServer, recipient: str) -> None:
    server = await start_server("receiver-mta")
    client = await LineClient.connect(server, "smtp")
    await client.ask(b"EHLO peer.example")
    assert (await client.ask(b"MAIL FROM:<alice@crepes.fr>")).startswith(b"250 ")
    assert (await client.ask(f"RCPT TO:<{recipient}>".encode()))[:1] == b"5"
    assert (await client.ask(b"DATA")).startswith(b"503 ")
    await client.close()
    assert server.mailboxes.list(BOB) == []
