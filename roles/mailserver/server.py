# MailServer: wires settings, storage, listeners, the relay worker and the control agent.
#
# Everything runs in one asyncio loop: a server per Listener (SMTP and submission
# connections are asyncio Protocols, smtp_connection.py; POP3 uses streams), the relay
# worker as a task, uvicorn serving the control agent on the management address and
# the webmail on the lab addresses (http_services.py).
# Tests create MailServer objects in-process (start()/stop()); __main__ runs one.
from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import ssl
from collections.abc import Callable, Coroutine
from typing import Any

import uvicorn

from labctl.protocols import imap, pop3
from labctl.tls_ca import server_certificate
from roles.mailserver.control_agent import create_control_app
from roles.mailserver.delivery import MailRouter
from roles.mailserver.disk_queue import DiskQueue
from roles.mailserver.http_services import bind_tcp, create_webmail_app, start_http
from roles.mailserver.imap_listener import serve_imap
from roles.mailserver.imap_session import ImapSession
from roles.mailserver.listeners import peer_address, serve_pop3
from roles.mailserver.mailbox_store import MaildirMailboxes
from roles.mailserver.pop3_maildrop import MaildropLocks
from roles.mailserver.pop3_session import Pop3Session
from roles.mailserver.relay import RelayWorker
from roles.mailserver.settings import (
    HTTP_SERVICES,
    WEBMAIL_SERVICE,
    Listener,
    MailServerSettings,
)
from roles.mailserver.smtp_connection import SMTP_SERVICES, SmtpConnection
from roles.mailserver.smtp_session import SmtpSession
from roles.mailserver.storage import Mailboxes, OutgoingQueue

log = logging.getLogger("mailserver")
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Coroutine[Any, Any, None]]


class MailServer:
    """One running mail server (sender-mta or receiver-mta)."""

    def __init__(self, settings: MailServerSettings, queue: OutgoingQueue | None = None,
                 mailboxes: Mailboxes | None = None) -> None:
        self.settings = settings
        self.queue = queue or DiskQueue(settings.data_dir / "queue")
        self.mailboxes = mailboxes or MaildirMailboxes(settings.data_dir / "mailboxes")
        self.router = MailRouter(settings, self.queue, self.mailboxes)
        self.relay = RelayWorker(settings, self.queue, self.router)
        self.router.on_queued = self.relay.queued
        self.bound: dict[str, list[tuple[str, int]]] = {}  # service -> actual (host, port)s
        self._servers: list[asyncio.Server] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._control: uvicorn.Server | None = None
        self._webmail: uvicorn.Server | None = None
        self._webmail_task: asyncio.Task[None] | None = None
        self._smtp: set[SmtpConnection] = set()  # open SMTP and submission connections
        self._first_ports: dict[tuple[str, str], int] = {}  # (service, host) -> bound port
        self.tls: ssl.SSLContext | None = None  # set at start() when settings.tls_dir is given
        self.pop3_locks = MaildropLocks()
        self._mailbox_clients: set[asyncio.Task[Any]] = set()  # POP3 and IMAP

    async def start(self, control_agent: bool = True) -> None:
        """Open every listener, start the relay worker and (optionally) the control agent."""
        if self.settings.tls_dir is not None:
            certificate = server_certificate(self.settings.tls_dir, self.settings.hostname,
                                             self.settings.lab_addresses)
            self.tls = certificate.server_context()
        await self._open_listeners()
        self._tasks.append(asyncio.create_task(self.relay.run(), name="relay"))
        if control_agent:
            await self._start_control_agent()
        await self._start_webmail()
        self.relay.wake()

    @property
    def is_up(self) -> bool:
        """True while the server serves its lab addresses (see set_up)."""
        return bool(self._servers)

    async def set_up(self, up: bool) -> None:
        """Serve the lab addresses again (True) or go down (False): every lab listener
        closed and every open lab connection cut, as when the host goes down; the queue,
        the relay and the control agent carry on."""
        if up == self.is_up:
            return
        if up:
            await self._open_listeners()
            await self._start_webmail()
            log.info("up again: serving the lab addresses")
            return
        await self._close_listeners()
        for connection in list(self._smtp):
            connection.abort()
        await self._stop_webmail()
        log.info("down: the lab addresses answer nothing until brought up")

    async def _open_listeners(self) -> None:
        """Listen on every SMTP, submission, POP3 and IMAP address of the settings."""
        for listener in self.settings.listeners:
            if listener.service in HTTP_SERVICES:
                continue
            # back up after set_up(False): the port of the first start (settings may say 0)
            port = self._first_ports.get((listener.service, listener.host), listener.port)
            if listener.service in SMTP_SERVICES:
                server = await asyncio.get_running_loop().create_server(
                    functools.partial(self._smtp_connection, listener), listener.host,
                    port, reuse_address=True)
            else:
                server = await asyncio.start_server(self._handler(listener), listener.host,
                                                    port, reuse_address=True)
            self._servers.append(server)
            for sock in server.sockets:
                host, port = sock.getsockname()[:2]
                self._first_ports.setdefault((listener.service, listener.host), port)
                self.bound.setdefault(listener.service, []).append((host, port))
                log.info("listening service=%s on %s:%d", listener.service, host, port)

    async def _close_listeners(self) -> None:
        """Close the listeners and end the POP3 and IMAP connections (their mailboxes are
        given back); SMTP connections are the caller's to cut or to let finish."""
        servers, self._servers = self._servers, []
        for server in servers:
            server.close()
        self.bound = {k: v for k, v in self.bound.items() if k in ("control", WEBMAIL_SERVICE)}
        mailbox_connections = list(self._mailbox_clients)
        for connection in mailbox_connections:
            connection.cancel()
        if mailbox_connections:
            await asyncio.wait(mailbox_connections, timeout=5)
        for server in servers:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(5):
                    await server.wait_closed()

    @property
    def mailbox_clients(self) -> int:
        """Open POP3 and IMAP connections."""
        return len(self._mailbox_clients)

    def address(self, service: str) -> tuple[str, int]:
        """The first (host, port) `service` is bound to."""
        return self.bound[service][0]

    async def _start_control_agent(self) -> None:
        sock = bind_tcp(self.settings.control_host, self.settings.control_port)
        self.bound["control"] = [sock.getsockname()[:2]]
        app = create_control_app(self.settings, self.queue, self.mailboxes, self.relay,
                                 service=self)
        self._control, task = await start_http(app, [sock], "control-agent",
                                               handles_signals=True)
        self._tasks.append(task)
        log.info("control agent on %s:%d", *self.bound["control"][0])

    async def _start_webmail(self) -> None:
        """Serve the webmail (HTTP) on each of its listeners, the lab addresses."""
        listeners = [item for item in self.settings.listeners if item.service == WEBMAIL_SERVICE]
        if not listeners:
            return
        sockets = [bind_tcp(item.host, self._first_ports.get((WEBMAIL_SERVICE, item.host),
                                                             item.port)) for item in listeners]
        self.bound[WEBMAIL_SERVICE] = [sock.getsockname()[:2] for sock in sockets]
        for item, (_, port) in zip(listeners, self.bound[WEBMAIL_SERVICE], strict=True):
            self._first_ports.setdefault((WEBMAIL_SERVICE, item.host), port)
        app = create_webmail_app(self.settings, self.mailboxes, self.router)
        self._webmail, self._webmail_task = await start_http(app, sockets, WEBMAIL_SERVICE)
        self._tasks.append(self._webmail_task)
        for host, port in self.bound[WEBMAIL_SERVICE]:
            log.info("listening service=%s on %s:%d", WEBMAIL_SERVICE, host, port)

    async def _stop_webmail(self) -> None:
        """Stop serving the webmail (its open connections end with it)."""
        webmail, task = self._webmail, self._webmail_task
        if webmail is None or task is None:
            return
        self._tasks.remove(task)  # before it ends: wait() must not take it for a failure
        webmail.should_exit = True
        webmail.force_exit = True  # do not wait for open keep-alive connections
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(10):
                await asyncio.shield(task)
        self._webmail, self._webmail_task = None, None
        self.bound.pop(WEBMAIL_SERVICE, None)

    @property
    def smtp_connections(self) -> int:
        """Open SMTP and submission connections."""
        return len(self._smtp)

    def _smtp_connection(self, listener: Listener) -> SmtpConnection:
        """A new SMTP or submission connection (refused beyond max_connections)."""

        def open_session(peer: str) -> SmtpSession | None:
            if len(self._smtp) >= self.settings.max_connections:
                log.info("too-many-connections peer=%s service=%s", peer, listener.service)
                return None
            self._smtp.add(connection)
            return SmtpSession(self.settings, listener.service, peer, self.router)

        def closed() -> None:
            self._smtp.discard(connection)

        connection = SmtpConnection(open_session, closed, self.tls)
        return connection

    def _handler(self, listener: Listener) -> Handler:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await self._serve_mailbox_client(listener.service, reader, writer,
                                             peer_address(writer))

        return handle

    async def _serve_mailbox_client(self, service: str, reader: asyncio.StreamReader,
                                    writer: asyncio.StreamWriter, peer: str) -> None:
        """One POP3 or IMAP connection, tracked so that stop() can end it (and free its
        mailbox)."""
        if len(self._mailbox_clients) >= self.settings.max_connections:
            log.info("too-many-connections peer=%s service=%s", peer, service)
            refusal = (imap.replies.TOO_MANY_CONNECTIONS.untagged().to_bytes() if service == "imap"
                       else pop3.replies.TOO_MANY_CONNECTIONS.to_bytes())
            writer.write(refusal)
            with contextlib.suppress(ConnectionError, OSError):
                await writer.drain()
            writer.close()
            return
        task = asyncio.current_task()
        if task is not None:
            self._mailbox_clients.add(task)
        try:
            if service == "imap":
                await serve_imap(reader, writer, ImapSession(self.settings, peer, self.mailboxes),
                                 self.mailboxes.events, self.settings.imap_idle_timeout_seconds,
                                 self.tls)
                return
            session = Pop3Session(self.settings, peer, self.mailboxes, self.pop3_locks)
            await serve_pop3(reader, writer, session, self.settings.pop3_idle_timeout_seconds,
                             self.tls)
        finally:
            if task is not None:
                self._mailbox_clients.discard(task)

    async def wait(self) -> None:
        """Run until a task (relay, control agent, webmail) ends; re-raise its error. The
        webmail that set_up(False) stops is no longer one of them: that is no end."""
        while True:
            done, _ = await asyncio.wait(list(self._tasks), return_when=asyncio.FIRST_COMPLETED)
            ended = [task for task in done if task in self._tasks]
            for task in ended:
                if not task.cancelled():  # cancelled: stop() ran meanwhile (a signal)
                    task.result()
            if ended or not self._tasks:
                return

    async def stop(self) -> None:
        """Close the listeners and stop the relay worker, the control agent and the webmail."""
        await self._close_listeners()
        for http_server in (self._control, self._webmail):
            if http_server is not None:
                http_server.should_exit = True
        self.relay.stop()
        for task in self._tasks:
            if task.get_name() == "relay":
                task.cancel()
        if self._tasks:
            _, stuck = await asyncio.wait(self._tasks, timeout=10)
            for task in stuck:
                log.error("task %s did not stop within 10s", task.get_name())
        self._tasks, self._control, self._webmail = [], None, None
