# Numbers a client sends (SMTP SIZE=, POP3 message numbers) that are not plain ASCII
# digits get an error reply from the real server; the connection and its state survive.
from __future__ import annotations

import asyncio

import pytest

from roles.mailserver.server import MailServer
from tests.roles.conftest import StartServer

BOB = "bob@hamburger.edu"


class LineClient:
    """A raw client: send one line, read one reply (multi-line POP3 bodies not needed)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, server: MailServer, service: str) -> LineClient:
        client = cls(*await asyncio.open_connection(*server.address(service)))
        await client.read_reply()  # the greeting
        return client

    async def read_reply(self) -> bytes:
        """One SMTP reply (all its lines) or one POP3 status line."""
        lines = b""
        while True:
            line = await asyncio.wait_for(self.reader.readline(), 10)
            assert line, f"server closed the connection after {lines!r}"
            lines += line
            if line[3:4] != b"-":
                return lines

    async def ask(self, line: bytes) -> bytes:
        self.writer.write(line + b"\r\n")
        return await self.read_reply()

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


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
