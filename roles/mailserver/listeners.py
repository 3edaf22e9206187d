# The thin asyncio layer: sockets in, sans-I/O protocol machines, sessions, sockets out.
#
# One coroutine per accepted connection. It feeds bytes to the machine, passes each
# event to the session and writes the replies (those to pipelined commands together,
# once the machine needs more input). Storing a message (fsync) runs in a
# worker thread so the loop keeps serving other connections meanwhile; so does the
# delay a failed AUTH earns (an await, never a blocking sleep). A client silent for
# idle_timeout_seconds gets 421 4.4.2 (SMTP) or -ERR (POP3) and is disconnected.
from __future__ import annotations

import asyncio
import logging

from labctl.protocols import pop3, smtp
from roles.mailserver.pop3_session import Pop3Session
from roles.mailserver.smtp_session import SmtpSession

log = logging.getLogger("mailserver")
READ_SIZE = 65536


def peer_address(writer: asyncio.StreamWriter) -> str:
    """The client's IP address as text."""
    peer = writer.get_extra_info("peername")
    return str(peer[0]) if peer else "unknown"


async def _read(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                idle_timeout: float) -> bytes:
    await writer.drain()
    async with asyncio.timeout(idle_timeout):
        return await reader.read(READ_SIZE)


async def refuse_smtp(writer: asyncio.StreamWriter, reply: smtp.Reply) -> None:
    """Answer a connection with `reply` (a 421) instead of the greeting, and close it."""
    writer.write(reply.to_bytes())
    await _close(writer)


async def serve_smtp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     session: SmtpSession) -> None:
    """Run one SMTP connection to its end."""
    settings = session.settings
    conn = smtp.ServerConnection(max_message_size=settings.max_message_size)
    replies = [conn.send(session.greeting())]  # sent together when we need more input
    try:
        while True:
            event = conn.next_event()
            if isinstance(event, smtp.NeedData):
                writer.write(b"".join(replies))  # pipelined commands: one write (RFC 2920)
                replies.clear()
                conn.receive_data(await _read(reader, writer, settings.idle_timeout_seconds))
                continue
            if isinstance(event, smtp.ConnectionClosed):
                break
            if isinstance(event, smtp.MessageReceived):
                reply = await asyncio.to_thread(session.handle, event)
            else:
                reply = session.handle(event)
            delay = session.auth.take_reply_delay()
            if delay:
                writer.write(b"".join(replies))
                replies.clear()
                await writer.drain()
                await asyncio.sleep(delay)
            replies.append(conn.send(reply))
        writer.write(b"".join(replies))
        await writer.drain()
    except TimeoutError:
        writer.write(conn.send(smtp.Reply.of(421, "4.4.2 Idle timeout, closing connection")))
    except (ConnectionError, OSError) as exc:
        log.info("smtp connection from %s lost: %s", session.peer, exc)
    finally:
        await _close(writer)


async def serve_pop3(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     session: Pop3Session, idle_timeout: float) -> None:
    """Run one POP3 connection to its end."""
    conn = pop3.ServerConnection()
    writer.write(conn.send(session.greeting()))
    try:
        while True:
            event = conn.next_event()
            if isinstance(event, pop3.NeedData):
                conn.receive_data(await _read(reader, writer, idle_timeout))
                continue
            if isinstance(event, pop3.ConnectionClosed):
                break
            state = conn.state
            if isinstance(event, pop3.CommandReceived) and event.command.verb == "QUIT":
                reply = await asyncio.to_thread(session.handle, event, state)
            else:
                reply = session.handle(event, state)
            writer.write(conn.send(reply))
        await writer.drain()
    except TimeoutError:
        writer.write(pop3.Reply(False, "idle timeout, closing connection").to_bytes())
    except (ConnectionError, OSError) as exc:
        log.info("pop3 connection from %s lost: %s", session.peer, exc)
    finally:
        await _close(writer)


async def _close(writer: asyncio.StreamWriter) -> None:
    try:
        writer.close()
        await writer.wait_closed()
    except (ConnectionError, OSError):
        pass
