# Numbers a client sends (SMTP SIZE=, POP3 message numbers) that are not plain ASCII
# digits get an error reply from the real server; the connection and its state survive.
from __future__ import annotations

import pytest

from tests.roles.conftest import StartServer
from tests.roles.mailserver.line_client import LineClient

BOB = "bob@hamburger.edu"


@pytest.mark.parametrize("size", ["²", "٣", "1e3", "9" * 21])
async def test_smtp_size_not_ascii_digits_gets_501(start_server: StartServer, size: str) -> None:
    server = await start_server("receiver-mta")
    client = await LineClient.connect(server, "smtp")
    await client.ask(b"EHLO peer.example")
    reply = await client.ask(f"MAIL FROM:<a@b.example> SIZE={size}".encode())
    assert reply.startswith(b"501 5.5.4 "), reply
    assert (await client.ask(b"MAIL FROM:<a@b.example> SIZE=10")).startswith(b"250 ")
    assert (await client.ask(b"QUIT")).startswith(b"221 ")
    await client.close()


@pytest.mark.parametrize("command", ["RETR ²", "TOP 1 ³", "DELE ٣", "LIST " + "9" * 40])
async def test_pop3_bad_number_gets_err_and_deletions_survive(
        start_server: StartServer, command: str) -> None:
    server = await start_server("receiver-mta")
    for n in range(2):
        server.mailboxes.deliver(BOB, f"Subject: {n}\r\n\r\nbody\r\n".encode())
    client = await LineClient.connect(server, "pop3")
    assert (await client.ask(b"USER bob")).startswith(b"+OK")
    assert (await client.ask(b"PASS bob-pw")).startswith(b"+OK")
    assert (await client.ask(b"DELE 1")).startswith(b"+OK")
    reply = await client.ask(command.encode())
    assert reply.startswith(b"-ERR ") and b"ASCII digits" in reply, reply
    assert (await client.ask(b"QUIT")).startswith(b"+OK")
    await client.close()
    assert len(server.mailboxes.list(BOB)) == 1  # DELE 1 applied at QUIT
