# The relay: delivers queued messages to their destination servers over SMTP.
#
# Theory of operation. The worker holds every queued message in memory (loaded from the
# queue at start, then handed over by MailRouter.on_queued). A message waits until its
# next attempt is due, then joins its destination's work list. Each destination has up
# to LabOptions.relay_concurrency connections, and a new one opens only while there is
# more work (waiting + being sent) than open connections; every connection takes
# messages from the shared list until it is empty, then says QUIT. So two messages
# queued together cross one connection when the concurrency is 1, and the capture of
# a lab scenario ends with QUIT/221 as soon as its mail is out. Once the destination is
# receiving a stream (its last STREAM_MESSAGES messages were all sent within
# STREAM_WINDOW_SECONDS, whether over one connection or one each), a connection waits
# IDLE_CONNECTION_SECONDS for new work before its QUIT, as Postfix's connection cache
# does, so a steady flow of mail, even of messages that come one at a time, does not pay
# a TCP handshake, an MX lookup and EHLO per message. A lecture's few messages never
# make a stream: each burst still ends with its QUIT.
#
# Routes come from an MX lookup in the lab's DNS (mx_lookup.py): a domain the lab's
# DNS does not know bounces, a DNS that does not answer defers.
#
# Outcomes (relay_outcome.py): 250 removes the queue file at once; 5xx bounces at once; 4xx,
# no answer or a broken connection defers with exponential backoff until the message
# is older than max_queue_lifetime_seconds, then it bounces. The attempt is recorded
# durably before the final "." of DATA, so after a crash the queue shows it. Every
# failure is caught per message, per connection and per pass: a message that cannot be
# relayed fails alone, with its error in the queue and the log, and never stops others.
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from roles.mailserver.delivery import MailRouter
from roles.mailserver.durable_files import in_io_thread
from roles.mailserver.mx_lookup import Route, RouteError, lookup_route
from roles.mailserver.relay_outcome import Outcomes
from roles.mailserver.settings import MailServerSettings
from roles.mailserver.smtp_client import RelayClient, envelope_problem
from roles.mailserver.storage import OutgoingQueue, QueuedMessage

log = logging.getLogger("mailserver")
CONNECTION_TIMEOUT_SECONDS = 30.0
IDLE_CONNECTION_SECONDS = 1.0
STREAM_MESSAGES = 10
STREAM_WINDOW_SECONDS = 1.0


@dataclass
class Destination:
    """One destination domain: its shared work list and its open connections."""

    domain: str
    due: deque[QueuedMessage] = field(default_factory=deque)
    connections: int = 0
    sending: int = 0
    idle: deque[asyncio.Future[None]] = field(default_factory=deque)  # connections waiting
    # when the last STREAM_MESSAGES messages were sent (time.monotonic())
    recent_sends: deque[float] = field(
        default_factory=lambda: deque(maxlen=STREAM_MESSAGES))

    def sent_one(self) -> None:
        """Note that a message was just sent (delivered or not) to this destination."""
        self.recent_sends.append(time.monotonic())

    def idle_seconds(self) -> float:
        """How long a connection waits for more work before its QUIT: long while mail
        streams in (see the theory of operation), not at all otherwise."""
        recent = self.recent_sends
        streaming = (len(recent) == recent.maxlen
                     and time.monotonic() - recent[0] <= STREAM_WINDOW_SECONDS)
        return IDLE_CONNECTION_SECONDS if streaming else 0.0

    def add(self, message: QueuedMessage) -> None:
        """Append to the work list and wake one idle connection, if any."""
        self.due.append(message)
        while self.idle:
            waiter = self.idle.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def more_work(self, seconds: float) -> bool:
        """Wait up to `seconds` for work (True) or give up (False)."""
        if self.due or seconds <= 0:
            return bool(self.due)
        waiter = asyncio.get_running_loop().create_future()
        self.idle.append(waiter)
        try:
            async with asyncio.timeout(seconds):
                await waiter
        except TimeoutError:
            return bool(self.due)
        finally:
            if waiter in self.idle:
                self.idle.remove(waiter)
        return bool(self.due)


class RelayWorker:
    """Takes due messages from the queue and pushes them to their destination servers."""

    def __init__(self, settings: MailServerSettings, queue: OutgoingQueue, router: MailRouter,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings, self.queue, self.clock = settings, queue, clock
        self.outcomes = Outcomes(settings, queue, router, clock, self._wait)
        self._held: dict[str, QueuedMessage] = {}  # every message this worker knows of
        self._waiting: dict[str, QueuedMessage] = {}  # held, not yet due
        self._sending: set[str] = set()
        self._destinations: dict[str, Destination] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake = asyncio.Event()
        self._stopped = False

    def queued(self, message: QueuedMessage) -> None:
        """A message was just queued (callable from any thread)."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._hold, message)

    def wake(self) -> None:
        """Look at the waiting messages now."""
        self._wake.set()

    def stop(self) -> None:
        """Make run() return after the current step (cancellation alone can get lost)."""
        self._stopped = True
        self._wake.set()

    def flush(self) -> int:
        """Make every waiting message due now; how many there were."""
        for message in self._waiting.values():
            message.next_attempt = 0.0
        self._wake.set()
        return len(self._waiting)

    def cancel(self, message_id: str) -> bool:
        """Forget a message (it is being deleted); False while it is being sent."""
        if message_id in self._sending:
            return False
        message = self._held.pop(message_id, None)
        self._waiting.pop(message_id, None)
        if message is not None:
            for destination in self._destinations.values():
                with contextlib.suppress(ValueError):
                    destination.due.remove(message)
        return True

    async def run(self) -> None:
        """Deliver until stop(): hand due messages to connections, sleep until due or woken."""
        self._stopped = False
        self._loop = asyncio.get_running_loop()
        try:
            for message in await in_io_thread(self.queue.messages):
                self._hold(message)
            while not self._stopped:
                self._wake.clear()
                try:
                    delay = self._dispatch()
                except Exception:
                    log.exception("relay pass failed")
                    delay = self.settings.retry_max_seconds
                # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await self._wake.wait()
        finally:
            self._loop = None
            for task in list(self._tasks):
                task.cancel()
            if self._tasks:
                await asyncio.wait(self._tasks)

    def _hold(self, message: QueuedMessage) -> None:
        if message.id in self._held:
            return
        self._held[message.id] = message
        if message.next_attempt <= self.clock():
            self._make_due(message)
        else:
            self._wait(message)

    def _wait(self, message: QueuedMessage) -> None:
        """Keep a held message until its next attempt is due (Outcomes calls it on deferral)."""
        if message.id in self._held:
            self._waiting[message.id] = message
            self._wake.set()

    def _dispatch(self) -> float | None:
        now = self.clock()
        for message in [m for m in self._waiting.values() if m.next_attempt <= now]:
            del self._waiting[message.id]
            self._make_due(message)
        if not self._waiting:
            return None
        return max(0.0, min(m.next_attempt for m in self._waiting.values()) - now)

    def _make_due(self, message: QueuedMessage) -> None:
        problem = envelope_problem(message.mail_from, message.rcpt_tos)
        if problem is not None:
            self._sending.add(message.id)
            self._spawn(self._settle_alone(message, self.outcomes.unsendable(message, problem)))
            return
        domain = message.rcpt_tos[0].rpartition("@")[2].lower()
        destination = self._destinations.setdefault(domain, Destination(domain))
        destination.add(message)
        self._open_connections(destination)

    def _open_connections(self, destination: Destination) -> None:
        wanted = min(self.settings.options.relay_concurrency,
                     len(destination.due) + destination.sending)
        while destination.connections < wanted and not self._stopped:
            destination.connections += 1
            self._spawn(self._connection(destination))

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _settle_alone(self, message: QueuedMessage,
                            settle: Coroutine[Any, Any, None]) -> None:
        try:
            await settle
        except Exception:
            log.exception("could not record the outcome of id=%s", message.id)
            self.outcomes.retry_later_in_memory(message)
        finally:
            self._sending.discard(message.id)
            if message.id not in self._waiting:
                self._held.pop(message.id, None)

    async def _connection(self, destination: Destination) -> None:
        try:
            await self._drain(destination)
        except Exception as exc:  # a bug must not leave the work list stuck
            log.exception("relay connection for %s failed", destination.domain)
            await self._defer_all(destination, f"internal error while relaying: {exc!r}")
        finally:
            destination.connections -= 1
            if destination.due and not self._stopped:
                self._open_connections(destination)

    async def _drain(self, destination: Destination) -> None:
        """Open one connection and send it messages until the work list is empty."""
        try:
            route = await lookup_route(self.settings, destination.domain)
        except RouteError as error:
            if not error.permanent:  # the lab's DNS does not answer now: retry later
                await self._defer_all(destination, str(error))
                return
            while destination.due:
                message = destination.due.popleft()
                await self._settle_alone(message, self.outcomes.unroutable(message, str(error)))
            return
        client = RelayClient(CONNECTION_TIMEOUT_SECONDS)
        try:
            hello = await client.connect(route.host, route.port, route.source,
                                         self.settings.hostname)
        except OSError as exc:  # the server is unreachable for all of them
            client.close()
            await self._defer_all(destination, f"cannot connect to {route.where}: {exc}")
            return
        try:
            usable = hello.code == 250
            while usable and not self._stopped and await destination.more_work(
                    destination.idle_seconds()):
                usable = await self._send_one(client, destination, route)
                destination.sent_one()
            while hello.code != 250 and destination.due:  # refused at greeting or EHLO/HELO
                message = destination.due.popleft()
                message.attempts += 1
                replies = dict.fromkeys(message.rcpt_tos, hello)
                await self._settle_alone(message, self.outcomes.settle(message, replies, route))
        finally:
            await client.quit()

    async def _defer_all(self, destination: Destination, error: str) -> None:
        while destination.due:
            message = destination.due.popleft()
            message.attempts += 1
            await self._settle_alone(message, self.outcomes.defer(message, error))

    async def _send_one(self, client: RelayClient, destination: Destination,
                        route: Route) -> bool:
        """Send the next due message; False when the connection is no longer usable."""
        message = destination.due.popleft()
        self._sending.add(message.id)
        destination.sending += 1
        try:
            message.attempts += 1
            try:
                replies = await client.send_message(
                    message.mail_from, message.rcpt_tos, message.data,
                    lambda: in_io_thread(self.queue.record_attempt, message))
            except Exception as exc:  # the connection broke, or a bug: defer, never stall
                if isinstance(exc, OSError):
                    error = f"{route.where}: {exc}"
                else:
                    log.exception("relaying id=%s failed", message.id)
                    error = f"internal error while relaying: {exc!r}"
                await self._settle_alone(message, self.outcomes.defer(message, error))
                return False
            await self._settle_alone(message, self.outcomes.settle(message, replies, route))
            return True
        finally:
            destination.sending -= 1
