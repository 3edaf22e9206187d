# The relay's SMTP client: one persistent connection, one mail transaction after another.
#
# Written on asyncio streams with the shared reply grammar (labctl.protocols.smtp)
# rather than with a client library because the relay has to act between the message
# text and its final "." (it records the attempt durably there, see relay.py), and
# because an envelope it cannot encode must be refused before a byte is written
# (envelope_problem), never raise in the middle of a dialog. Commands are not
# pipelined even when the server offers PIPELINING: one reply per command is the
# lecture's dialog, and what the captures show and the grader checks. Any I/O
# failure, timeout or garbled reply raises ConnectionLost; refusals are returned as
# replies, per recipient.
from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import Awaitable, Callable, Sequence

from labctl.protocols import smtp
from roles.mailserver.printable import printable


class ConnectionLost(OSError):
    """The connection broke, timed out or the server sent something that is not a reply."""


def envelope_problem(mail_from: str, rcpt_tos: Sequence[str]) -> str | None:
    """Why this envelope cannot be sent over SMTP (None when it can): the grammar's
    address rule, and ASCII only (the relay does not use SMTPUTF8)."""
    if not rcpt_tos:
        return "no recipients"
    for role, address in [("sender", mail_from), *(("recipient", r) for r in rcpt_tos)]:
        if role == "sender" and address == "":
            continue
        problem = smtp.address_problem(address)
        if problem is None and not address.isascii():
            problem = "non-ASCII address (the relay does not use SMTPUTF8)"
        if problem is not None:
            return f"{role} address <{printable(address)}> cannot be sent over SMTP: {problem}"
    return None


class RelayClient:
    """An SMTP client connection to one destination server."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.extensions: dict[str, str] = {}
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def connect(self, host: str, port: int, source: str, helo: str) -> smtp.Reply:
        """Open the connection, read the greeting and say EHLO (HELO if refused)."""
        try:
            async with asyncio.timeout(self.timeout):
                self._reader, self._writer = await asyncio.open_connection(
                    host, port, local_addr=(source, 0))
        except TimeoutError as exc:
            raise ConnectionLost(f"no answer from {host}:{port} within {self.timeout}s") from exc
        greeting = await self._reply()
        if greeting.code != 220:
            return greeting
        hello = await self._command(f"EHLO {helo}")
        if hello.code == 250:
            for line in hello.lines[1:]:
                keyword, _, value = line.partition(" ")
                self.extensions[keyword.upper()] = value
            return hello
        return await self._command(f"HELO {helo}")

    async def authenticate(self, login: str, password: str) -> smtp.Reply:
        """AUTH PLAIN (RFC 4616) as `login` (for clients of a submission port)."""
        token = base64.b64encode(f"\0{login}\0{password}".encode()).decode("ascii")
        return await self._command(f"AUTH PLAIN {token}")

    async def send_message(self, mail_from: str, rcpt_tos: Sequence[str], data: bytes,
                           before_commit: Callable[[], Awaitable[None]]) -> dict[str, smtp.Reply]:
        """Run one transaction; the reply that settles each recipient.

        `before_commit` runs while MAIL, RCPT and DATA are answered and is awaited before
        the text and its final "." are sent, so what it records is durable before the
        server can answer 250 (and its fsync overlaps a network round trip).
        """
        text = smtp.dot_stuff(data)
        parameters = ""
        if "SIZE" in self.extensions:
            parameters += f" SIZE={len(text)}"
        if "8BITMIME" in self.extensions and not text.isascii():
            parameters += " BODY=8BITMIME"
        commands = [f"MAIL FROM:<{mail_from}>{parameters}", *(f"RCPT TO:<{r}>" for r in rcpt_tos),
                    "DATA"]
        commit = asyncio.ensure_future(before_commit())
        try:
            replies = await self._envelope(commands)
        finally:
            await commit
        mail_reply, rcpt_replies = replies[0], replies[1:1 + len(rcpt_tos)]
        if not mail_reply.is_positive:
            await self._reset()
            return dict.fromkeys(rcpt_tos, mail_reply)
        outcome = {r: reply for r, reply in zip(rcpt_tos, rcpt_replies, strict=False)
                   if not reply.is_positive}
        accepted = [r for r in rcpt_tos if r not in outcome]
        data_reply = replies[-1] if len(replies) == len(commands) else None
        if not accepted or data_reply is None or data_reply.code != 354:
            await self._reset()
            refusal = data_reply or smtp.replies.DATA_NOT_ACCEPTED()
            return {**outcome, **dict.fromkeys(accepted, refusal)}
        self._send_raw(text + b".\r\n")
        final = await self._reply()
        return {**outcome, **dict.fromkeys(accepted, final)}

    async def _envelope(self, commands: list[str]) -> list[smtp.Reply]:
        """Send MAIL, RCPT... and DATA one by one; their replies."""
        replies: list[smtp.Reply] = []
        for command in commands:
            replies.append(await self._command(command))
            if not replies[-1].is_positive and len(replies) == 1:
                break  # MAIL refused: no point in RCPT and DATA
        return replies

    async def quit(self) -> None:
        """Say QUIT and close (errors while closing are ignored)."""
        with contextlib.suppress(ConnectionLost, OSError):
            await self._command("QUIT")
        self.close()

    def close(self) -> None:
        """Close the connection without a QUIT."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    async def _reset(self) -> None:
        await self._command("RSET")

    async def _command(self, command: str) -> smtp.Reply:
        self._write(command)
        return await self._reply()

    def _write(self, command: str) -> None:
        self._send_raw(command.encode("ascii") + b"\r\n")

    def _send_raw(self, data: bytes) -> None:
        if self._writer is None:
            raise ConnectionLost("not connected")
        self._writer.write(data)

    async def _reply(self) -> smtp.Reply:
        if self._reader is None or self._writer is None:
            raise ConnectionLost("not connected")
        lines: list[str] = []
        try:
            async with asyncio.timeout(self.timeout):
                await self._writer.drain()
                while True:
                    line = await self._reader.readline()
                    if not line:
                        raise ConnectionLost("the server closed the connection")
                    code, last, text = smtp.parse_reply_line(line)
                    lines.append(text)
                    if last:
                        return smtp.Reply(code, tuple(lines))
        except TimeoutError as exc:
            raise ConnectionLost(f"no reply within {self.timeout}s") from exc
        except smtp.ProtocolError as exc:
            raise ConnectionLost(f"garbled reply: {exc}") from exc
        except (ValueError, ConnectionError) as exc:  # ValueError: a line over the stream limit
            raise ConnectionLost(str(exc)) from exc
