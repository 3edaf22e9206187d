# One SMTP connection as an asyncio.Protocol: bytes in, the sans-I/O machine, replies out.
#
# The event loop calls data_received(); the bytes go to labctl.protocols.smtp's machine
# and its events to the SmtpSession, right there in the callback, until the machine
# needs more input: then the replies to everything read so far (pipelined commands)
# go out in one write (RFC 2920). No coroutine, no stream object sits in between.
# Three steps cannot finish in a callback; each runs as a task while the connection is
# `busy` (bytes arriving meanwhile only wait in the machine, reading pauses once there
# are more than READ_SIZE of them):
#   - storing a message (fsyncs) runs in an I/O thread (durable_files.in_io_thread);
#   - a failed AUTH earns a delay before its reply (an await, never a blocking sleep);
#   - STARTTLS: the 220 is written, reading stops at once (no plaintext byte sent ahead
#     is ever read as TLS data: the machine already threw away what it had), and the
#     same protocol object carries on over the TLS transport loop.start_tls() returns.
# A client silent for the idle timeout gets 421 4.4.2: one timer per connection, which
# re-arms itself from the time of the last activity. When the transport's write buffer
# is full, reading pauses until it drains.
from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable, Coroutine
from typing import Any

from labctl.protocols import smtp
from roles.mailserver.durable_files import in_io_thread
from roles.mailserver.listeners import TLS_HANDSHAKE_SECONDS
from roles.mailserver.listeners import _is_command as is_command
from roles.mailserver.listeners import _log_discarded as log_discarded
from roles.mailserver.smtp_session import SmtpSession

log = logging.getLogger("mailserver")
READ_SIZE = 65536  # bytes a busy connection buffers before it stops reading
SMTP_SERVICES = ("smtp", "submission")  # the listeners served by SmtpConnection


class SmtpConnection(asyncio.Protocol):
    """One SMTP connection: `open_session(peer)` gives its session, or None to refuse
    it with 421 (too many connections); `closed()` is called once when it ends."""

    def __init__(self, open_session: Callable[[str], SmtpSession | None],
                 closed: Callable[[], None], tls: ssl.SSLContext | None) -> None:
        self._open_session, self._closed_callback, self._tls = open_session, closed, tls
        self._loop = asyncio.get_running_loop()
        self._transport: asyncio.Transport | None = None
        self._session: SmtpSession | None = None
        self._conn: smtp.ServerConnection | None = None
        self._replies: list[bytes] = []  # sent together when the machine needs input
        self._busy = False  # a task (store, AUTH delay, TLS handshake) holds the machine
        self._task: asyncio.Task[None] | None = None
        self._buffered_while_busy = 0
        self._write_paused = self._read_paused = self._lost = False
        self._handshaking = self._encrypted = False  # start_tls owns reading while handshaking
        self._last_activity = 0.0
        self._idle_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        peer = transport.get_extra_info("peername")
        session = self._open_session(str(peer[0]) if peer else "unknown")
        if session is None:
            transport.write(smtp.replies.TOO_MANY_CONNECTIONS().to_bytes())
            transport.close()
            return
        self._session, settings = session, session.settings
        self._conn = smtp.ServerConnection(max_message_size=settings.max_message_size,
                                           starttls=self._tls is not None)
        self._replies.append(self._conn.send(session.greeting()))
        self._last_activity = self._loop.time()
        self._arm_idle_timer(settings.idle_timeout_seconds)
        self._advance()

    def data_received(self, data: bytes) -> None:
        if self._conn is None:
            return
        self._last_activity = self._loop.time()
        self._conn.receive_data(data)
        if self._busy:
            self._buffered_while_busy += len(data)
            self._update_reading()
        else:
            self._advance()

    def eof_received(self) -> bool:
        if self._conn is not None:
            self._conn.receive_data(b"")
            if not self._busy:
                self._advance()
        return not self._encrypted  # keep the socket open for the last replies (not over TLS)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._lost:
            return
        self._lost = True
        if exc is not None and self._session is not None:
            log.info("smtp connection from %s lost: %s", self._session.peer, exc)
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        if self._session is not None:
            self._closed_callback()

    def abort(self) -> None:
        """Cut the connection at once, without a reply (the server went down)."""
        if self._transport is not None:
            self._transport.abort()

    def pause_writing(self) -> None:
        self._write_paused = True
        self._update_reading()

    def resume_writing(self) -> None:
        self._write_paused = False
        self._update_reading()

    def _advance(self) -> None:
        """Run the machine on what it holds until it needs input or a task takes over."""
        conn, session = self._conn, self._session
        assert conn is not None and session is not None
        while not self._busy and not self._lost:
            event = conn.next_event()
            if isinstance(event, smtp.NeedData):
                self._flush()
                return
            if isinstance(event, smtp.ConnectionClosed):
                self._close()
                return
            if isinstance(event, smtp.MessageReceived):
                self._run(self._store(session, event))
                return
            reply = session.handle(event)
            delay = session.auth.take_reply_delay()
            if delay:
                self._flush()
                self._run(self._delayed(event, reply, delay))
                return
            self._reply(event, reply)

    def _reply(self, event: smtp.Event, reply: smtp.Reply) -> None:
        assert self._conn is not None and self._session is not None
        self._replies.append(self._conn.send(reply))
        if self._tls is not None and reply.code == 220 and is_command(event, "STARTTLS"):
            self._flush()
            assert self._transport is not None
            self._transport.pause_reading()  # not one more plaintext byte
            log_discarded(self._session.peer, self._conn.discarded_before_tls)
            self._run(self._start_tls(self._tls))

    async def _store(self, session: SmtpSession, event: smtp.MessageReceived) -> None:
        reply = await in_io_thread(session.handle, event)
        self._reply(event, reply)

    async def _delayed(self, event: smtp.Event, reply: smtp.Reply, delay: float) -> None:
        await asyncio.sleep(delay)
        self._reply(event, reply)

    async def _start_tls(self, context: ssl.SSLContext) -> None:
        assert self._transport is not None
        self._handshaking = True  # start_tls resumes reading on the TLS transport
        transport = await self._loop.start_tls(self._transport, self, context,
                                               server_side=True,
                                               ssl_handshake_timeout=TLS_HANDSHAKE_SECONDS)
        if transport is None:
            raise ConnectionError("the connection closed during the TLS handshake")
        self._transport, self._encrypted = transport, True
        self._handshaking = self._read_paused = False

    def _run(self, step: Coroutine[Any, Any, None]) -> None:
        """Hand the machine to `step` (a task); carry on reading when it is done."""
        self._busy, self._buffered_while_busy = True, 0
        self._task = self._loop.create_task(self._then_advance(step))

    async def _then_advance(self, step: Coroutine[Any, Any, None]) -> None:
        peer = self._session.peer if self._session is not None else "unknown"
        try:
            await step
            self._busy, self._task = False, None
            self._last_activity = self._loop.time()
            self._update_reading()
            if not self._lost:
                self._advance()
        except (ConnectionError, OSError, TimeoutError) as exc:
            if not self._lost:
                log.info("smtp connection from %s lost: %s", peer, exc)
            self._abort()
        except Exception:
            log.exception("smtp connection from %s failed", peer)
            self._abort()

    def _flush(self) -> None:
        if self._replies and not self._lost and self._transport is not None:
            self._transport.write(b"".join(self._replies))
        self._replies.clear()

    def _update_reading(self) -> None:
        """Pause reading while writes are stuck or a busy connection has enough buffered."""
        if self._transport is None or self._lost or self._handshaking \
                or self._transport.is_closing():
            return
        pause = self._write_paused or (self._busy and self._buffered_while_busy > READ_SIZE)
        if pause != self._read_paused:
            self._read_paused = pause
            if pause:
                self._transport.pause_reading()
            else:
                self._transport.resume_reading()

    def _arm_idle_timer(self, timeout: float) -> None:
        self._idle_timer = self._loop.call_at(self._last_activity + timeout,
                                              self._idle_check, timeout)

    def _idle_check(self, timeout: float) -> None:
        if self._lost or self._conn is None:
            return
        if self._busy:  # storing a message or waiting out a delay is not idleness
            self._last_activity = self._loop.time()
        if self._loop.time() - self._last_activity < timeout:
            self._arm_idle_timer(timeout)
            return
        self._replies.append(self._conn.send(smtp.replies.IDLE_TIMEOUT()))
        self._close()

    def _close(self) -> None:
        self._flush()
        if self._transport is not None:
            self._transport.close()

    def _abort(self) -> None:
        self._replies.clear()
        if self._transport is not None:
            self._transport.abort()

