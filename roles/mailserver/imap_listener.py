# The asyncio side of one IMAP connection: socket bytes into imap.ServerConnection,
# its events to the ImapSession, the session's responses back to the socket.
#
# As serve_pop3 and serve_smtp (listeners.py): a command whose handling touches the disk
# runs in a worker thread, a batch of responses per hop (ImapSession.handle_in_batches:
# a FETCH of a thousand messages is ten hops), each batch sent while the next is made
# (its socket writes overlap the worker's reading) and after the one before has
# drained, so memory stays bounded; a failed login's delay
# is awaited by this connection only; STARTTLS upgrades the connection in place
# (listeners.start_tls). A client silent for the idle timeout (RFC 3501 5.4: at
# least 30 minutes) gets an untagged BYE, and so does every client when the server stops
# (the connection's task is cancelled; it ends normally after the BYE).
# The connection watches the selected folder (the store's MailboxEvents, woken by every
# change made in this process: SMTP delivery, other IMAP or POP3 sessions, webmail):
# between commands that tells the session whether to look at the folder again; in
# IDLE, while it waits for the client's DONE, each wake-up refreshes the session's view
# in a worker thread and sends what changed. Nothing polls the disk in a loop.
from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Iterator

from labctl.protocols import imap
from roles.mailserver.durable_files import in_io_thread
from roles.mailserver.imap_session import ImapSession
from roles.mailserver.listeners import READ_SIZE, _close, _log_discarded, start_tls
from roles.mailserver.mailbox_events import FolderWatch, MailboxEvents

log = logging.getLogger("mailserver")


class _Connection:
    """The streams of one connection, swapped by STARTTLS."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.pending_read: asyncio.Task[bytes] | None = None

    async def read(self, timeout: float) -> bytes:
        """The next bytes from the client (b"" when it closed); TimeoutError when silent."""
        await self.writer.drain()
        async with asyncio.timeout(timeout):
            return await self.reader.read(READ_SIZE)

    async def read_while_idle(self, session: ImapSession, conn: imap.ServerConnection,
                              watch: FolderWatch | None, timeout: float) -> bytes:
        """Wait for the client's bytes, sending the folder's changes as they happen."""
        if watch is None:
            return await self.read(timeout)
        await self._send(conn, await in_io_thread(session.idle_updates))
        while True:
            data = await self._read_or_change(watch, timeout)
            if data is not None:
                return data
            await self._send(conn, await in_io_thread(session.idle_updates))

    async def _read_or_change(self, watch: FolderWatch, timeout: float) -> bytes | None:
        """The client's bytes, or None when the folder changed first."""
        if self.pending_read is None:
            self.pending_read = asyncio.ensure_future(self.reader.read(READ_SIZE))
        changed = asyncio.ensure_future(watch.wait())
        try:
            done, _ = await asyncio.wait({self.pending_read, changed}, timeout=timeout,
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            changed.cancel()
        if not done:
            raise TimeoutError
        if self.pending_read in done:
            data = self.pending_read.result()
            self.pending_read = None
            return data
        return None

    async def _send(self, conn: imap.ServerConnection, responses: list[imap.Response]) -> None:
        self.writer.write(b"".join(conn.send(response) for response in responses))
        await self.writer.drain()

    async def answer_in_worker(self, conn: imap.ServerConnection,
                               batches: Iterator[list[imap.Response]]) -> list[imap.Response]:
        """Make `batches` in worker threads, sending each as it comes but the last (the
        one ending with the tagged response), which is returned. The next batch is being
        made while this one is written: two batches at most are held, never more."""
        responses: list[imap.Response] = await in_io_thread(next, batches, [])
        while responses and responses[-1].tag == imap.replies.UNTAGGED:
            following = asyncio.ensure_future(in_io_thread(next, batches, []))
            data = b"".join(conn.send(response) for response in responses)
            try:
                await self.writer.drain()
                self.writer.write(data)
            finally:  # the generator is never left running on its own
                responses = await following
        return responses


class _SelectionWatch:
    """The store's change notification for the session's selected folder, so the session
    looks at the folder only when it may have changed (see imap_session.py)."""

    def __init__(self, events: MailboxEvents) -> None:
        self.events = events
        self.key: tuple[str, str] | None = None
        self.watch: FolderWatch | None = None

    def follow(self, session: ImapSession) -> None:
        """Watch the folder the session has selected now (changed if a change was
        announced between the view's listing and this subscription)."""
        key = session.watched()
        if key == self.key:
            return
        self.close()
        self.key = key
        if key is not None and session.selected is not None:
            self.watch = self.events.subscribe(*key)
            session.folder_changed = self.events.changes(*key) != session.selected.changes_seen

    def note_changes(self, session: ImapSession) -> None:
        """Tell the session when its folder changed since the last look."""
        if self.watch is not None and self.watch.changed():
            session.folder_changed = True

    def close(self) -> None:
        """Stop watching."""
        if self.watch is not None:
            self.watch.close()
        self.key, self.watch = None, None


async def serve_imap(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     session: ImapSession, events: MailboxEvents, idle_timeout: float,
                     tls: ssl.SSLContext | None = None) -> None:
    """Run one IMAP connection to its end; `tls` offers STARTTLS with that context."""
    settings = session.settings
    conn = imap.ServerConnection(max_append_size=settings.max_message_size,
                                 starttls=tls is not None)
    stream = _Connection(reader, writer)
    watches = _SelectionWatch(events)
    stream.writer.write(conn.send(session.greeting()))
    try:
        while True:
            event = conn.next_event()
            if isinstance(event, imap.NeedData):
                if conn.phase is imap.Phase.IDLE:
                    data = await stream.read_while_idle(session, conn, watches.watch,
                                                        idle_timeout)
                else:
                    data = await stream.read(idle_timeout)
                conn.receive_data(data)
                continue
            if isinstance(event, imap.ConnectionClosed):
                break
            if session.needs_disk(event):
                watches.note_changes(session)
                responses = await stream.answer_in_worker(conn, session.handle_in_batches(event))
            else:
                responses = session.handle(event)
            watches.follow(session)
            delay = session.take_reply_delay()
            if delay:
                await stream.writer.drain()
                await asyncio.sleep(delay)
            stream.writer.write(b"".join(conn.send(response) for response in responses))
            if (tls is not None and isinstance(event, imap.ImapCommandReceived)
                    and event.command.name == "STARTTLS" and responses[-1].status == "OK"):
                _log_discarded(session.peer, conn.discarded_before_tls)
                stream = _Connection(*await start_tls(stream.writer, tls))
        await stream.writer.drain()
    except asyncio.CancelledError:  # the server stops (MailServer.stop): say so, then close
        stream.writer.write(conn.send(imap.replies.SHUTTING_DOWN.untagged(
            reason=f"{settings.hostname} is shutting down")))
    except TimeoutError:
        stream.writer.write(conn.send(imap.replies.IDLE_TIMEOUT.untagged()))
        log.info("imap connection from %s idle for %ss, closed", session.peer, idle_timeout)
    except (ConnectionError, OSError) as exc:
        log.info("imap connection from %s lost: %s", session.peer, exc)
    finally:
        if stream.pending_read is not None:
            stream.pending_read.cancel()
        watches.close()
        with contextlib.suppress(asyncio.CancelledError):  # the server stopping meanwhile
            await _close(stream.writer)
