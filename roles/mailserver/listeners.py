# The thin asyncio layer: sockets in, sans-I/O protocol machines, sessions, sockets out.
#
# One coroutine per accepted connection (SMTP has its own, callback-driven layer:
# smtp_connection.py). It feeds bytes to the machine, passes each event to the session
# and writes the replies. Commands that touch the disk run in a thread so the loop
# keeps serving other connections meanwhile. A client silent for the idle timeout is
# closed (POP3: IdleReader, one timer per connection, not one per read). When the
# session accepts STLS the connection is upgraded in place (start_tls) and read
# through a fresh reader, so no plaintext byte sent ahead is ever read as TLS data.
from __future__ import annotations

import asyncio
import logging
import ssl

from labctl.protocols import pop3, smtp
from roles.mailserver.durable_files import in_io_thread
from roles.mailserver.pop3_session import Pop3Session

log = logging.getLogger("mailserver")
TLS_HANDSHAKE_SECONDS = 30.0
READ_SIZE = 65536


def peer_address(writer: asyncio.StreamWriter) -> str:
    """The client's IP address as text."""
    peer = writer.get_extra_info("peername")
    return str(peer[0]) if peer else "unknown"


class IdleReader:
    """Reads a connection's bytes under an idle timeout without a timer per read: one
    timer, re-armed from the start of the current wait, fails a wait that outlasts the
    timeout with TimeoutError (StreamReader.set_exception); time spent answering is not
    idleness."""

    def __init__(self, reader: asyncio.StreamReader, timeout: float) -> None:
        self.reader, self.timeout = reader, timeout
        self._loop = asyncio.get_running_loop()
        self._waiting_since: float | None = None
        self._armed_for = self._loop.time()
        self._timer = self._loop.call_at(self._armed_for + timeout, self._check)

    async def read(self, writer: asyncio.StreamWriter) -> bytes:
        """The next bytes (b"" when the client closed), once the replies so far drained."""
        await writer.drain()
        self._waiting_since = self._loop.time()
        try:
            return await self.reader.read(READ_SIZE)
        finally:
            self._waiting_since = None

    def _check(self) -> None:
        since = self._waiting_since
        if since is not None and since == self._armed_for:  # silent since the timer was set
            self.reader.set_exception(TimeoutError())
            return
        self._armed_for = since if since is not None else self._loop.time()
        self._timer = self._loop.call_at(self._armed_for + self.timeout, self._check)

    def cancel(self) -> None:
        """Stop the timer (the connection ends)."""
        self._timer.cancel()


def _is_command(event: smtp.Event | pop3.Event, verb: str) -> bool:
    return isinstance(event, smtp.CommandReceived) and event.command.verb == verb


def _log_discarded(peer: str, data: bytes) -> None:
    if data:
        log.warning("pipelined-before-tls peer=%s discarded=%d bytes: %r", peer, len(data),
                    data[:80])


async def start_tls(writer: asyncio.StreamWriter, context: ssl.SSLContext,
                    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Run the server side of a TLS handshake on the connection; a new reader and writer."""
    await writer.drain()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    protocol = asyncio.StreamReaderProtocol(reader)
    transport = await loop.start_tls(writer.transport, protocol, context, server_side=True,
                                     ssl_handshake_timeout=TLS_HANDSHAKE_SECONDS)
    if transport is None:
        raise ConnectionError("the connection closed during the TLS handshake")
    protocol.connection_made(transport)
    return reader, asyncio.StreamWriter(transport, protocol, reader, loop)


async def serve_pop3(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     session: Pop3Session, idle_timeout: float,
                     tls: ssl.SSLContext | None = None) -> None:
    """Run one POP3 connection to its end (the session is closed however it ends);
    `tls` offers STLS with that context."""
    conn = pop3.ServerConnection(stls=tls is not None)
    writer.write(conn.send(session.greeting()))
    idle = IdleReader(reader, idle_timeout)
    try:
        while True:
            event = conn.next_event()
            if isinstance(event, pop3.NeedData):
                conn.receive_data(await idle.read(writer))
                continue
            if isinstance(event, pop3.ConnectionClosed):
                break
            state = conn.state
            if session.needs_disk(event):
                reply = await in_io_thread(session.handle, event, state)
            else:
                reply = session.handle(event, state)
            writer.write(conn.send(reply))
            if tls is not None and reply.ok and _is_command(event, "STLS"):
                _log_discarded(session.peer, conn.discarded_before_tls)
                idle.reader, writer = await start_tls(writer, tls)
        await writer.drain()
    except TimeoutError:  # RFC 1939 autologout: no UPDATE, no reply, just close
        log.info("pop3 connection from %s idle for %ss, closed", session.peer, idle_timeout)
    except (ConnectionError, OSError) as exc:
        log.info("pop3 connection from %s lost: %s", session.peer, exc)
    finally:
        idle.cancel()
        session.close()
        await _close(writer)


async def _close(writer: asyncio.StreamWriter) -> None:
    try:
        writer.close()
        await writer.wait_closed()
    except (ConnectionError, OSError):
        pass
