# Real peers for the capture tests: a small asyncio SMTP server and an smtplib sender,
# so what is recorded is a genuine SMTP dialog over loopback (TEST_PLAN's addresses).
from __future__ import annotations

import asyncio
import smtplib

MESSAGE = "Subject: hi\r\n\r\nketchup?\r\n"


async def smtp_session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Serve one SMTP session: every command accepted, DATA until the lone dot."""
    writer.write(b"220 mail.hamburger.edu ESMTP\r\n")
    in_data = False
    while line := await reader.readline():
        if in_data:
            if line == b".\r\n":
                in_data = False
                writer.write(b"250 queued\r\n")
        elif line[:4].upper() == b"DATA":
            in_data = True
            writer.write(b"354 go ahead\r\n")
        elif line[:4].upper() == b"QUIT":
            writer.write(b"221 bye\r\n")
            await writer.drain()
            break
        else:
            writer.write(b"250 ok\r\n")
        await writer.drain()
    writer.close()


def send_messages(server: tuple[str, int], source: str, count: int, body: str = MESSAGE) -> None:
    """Send `count` messages, one SMTP session each, from the address `source`."""
    for _ in range(count):
        with smtplib.SMTP(server[0], server[1], local_hostname="crepes.fr",
                          source_address=(source, 0)) as client:
            client.sendmail("alice@crepes.fr", ["bob@hamburger.edu"], body)


class SmtpReceiver:
    """An SMTP server that counts the sessions it has ended (its FIN sent)."""

    def __init__(self) -> None:
        self.ended = 0
        self._changed = asyncio.Event()

    async def session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one session, then count it."""
        try:
            await smtp_session(reader, writer)
            await writer.wait_closed()
        finally:
            self.ended += 1
            self._changed.set()

    async def wait_ended(self, sessions: int) -> None:
        """Wait until `sessions` sessions have ended on the server's side."""
        while self.ended < sessions:
            self._changed.clear()
            await self._changed.wait()
