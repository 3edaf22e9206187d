# A raw line client for the mail server's tests: bytes a library client would never send.
from __future__ import annotations

import asyncio

from roles.mailserver.server import MailServer


class LineClient:
    """A raw client: send one line, read one reply (multi-line POP3 bodies not needed)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, server: MailServer, service: str,
                      read_greeting: bool = True) -> LineClient:
        client = cls(*await asyncio.open_connection(*server.address(service)))
        if read_greeting:
            await client.read_reply()
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
