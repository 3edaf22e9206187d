# A scriptable receiving SMTP server for relay tests: counts connections, records each
# transaction and answers RCPT / end of DATA as the test says (450, 550, hold...).
#
# Built on the same sans-I/O machine as the real server (labctl.protocols.smtp), so it
# speaks real SMTP on the wire; only its policy is scripted.
from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from labctl.protocols import smtp


@dataclass
class Transaction:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes


@dataclass
class FakeReceiver:
    """Counts connections and transactions; `rcpt_reply`/`data_reply` script the answers."""

    rcpt_reply: Callable[[str], smtp.Reply] = lambda rcpt: smtp.Reply.of(250, "2.1.5 Ok")
    data_reply: Callable[[int], smtp.Reply] = lambda n: smtp.Reply.of(250, "2.0.0 Ok")
    release: asyncio.Event = field(default_factory=asyncio.Event)  # hold end of DATA until set
    connections: int = 0
    open_now: int = 0
    most_open: int = 0
    transactions: list[Transaction] = field(default_factory=list)
    data_ends: int = 0
    held: int = 0  # transactions whose final "." arrived and wait for `release`

    def __post_init__(self) -> None:
        self.release.set()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One connection, to its end."""
        self.connections += 1
        self.open_now += 1
        self.most_open = max(self.most_open, self.open_now)
        conn = smtp.ServerConnection()
        writer.write(conn.send(smtp.Reply.of(220, "fake ESMTP")))
        mail_from, rcpts = "", list[str]()
        try:
            while True:
                event = conn.next_event()
                if isinstance(event, smtp.NeedData):
                    await writer.drain()
                    conn.receive_data(await reader.read(65536))
                    continue
                if isinstance(event, smtp.ConnectionClosed):
                    break
                reply = smtp.Reply.of(250, "2.0.0 Ok")
                match event:
                    case smtp.Hello(extended=True):
                        reply = smtp.Reply(250, ("fake", "PIPELINING", "8BITMIME", "SIZE 100000"))
                    case smtp.MailFrom(address=address):
                        mail_from, rcpts = address, []
                    case smtp.RcptTo(address=address):
                        reply = self.rcpt_reply(address)
                        if reply.is_positive:
                            rcpts.append(address)
                    case smtp.MessageReceived(data=data):
                        self.held += 1
                        await self.release.wait()
                        self.held -= 1
                        self.data_ends += 1
                        reply = self.data_reply(self.data_ends)
                        if reply.is_positive:
                            self.transactions.append(Transaction(mail_from, rcpts, data))
                    case smtp.CommandReceived(command=command) if command.verb == "DATA":
                        reply = smtp.Reply.of(354, "go ahead")
                    case smtp.CommandReceived(command=command) if command.verb == "QUIT":
                        reply = smtp.Reply.of(221, "2.0.0 Bye")
                    case smtp.ProtocolErrorEvent(reply=error):
                        reply = error
                writer.write(conn.send(reply))
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            self.open_now -= 1
            writer.close()


async def start_fake_receiver(host: str, port: int = 0,
                              receiver: FakeReceiver | None = None
                              ) -> tuple[FakeReceiver, asyncio.Server]:
    """Listen on host:port with a FakeReceiver; the caller closes the server."""
    fake = receiver or FakeReceiver()
    server = await asyncio.start_server(fake.serve, host, port)
    return fake, server
