# What happens to a queued message after a delivery attempt: delivered, deferred, bounced.
#
# Outcomes turns the replies of one attempt into queue changes: every recipient
# accepted (2xx) -> the queue file is removed at once (this is what keeps the window
# for a double delivery after a crash small); any recipient refused for good (5xx)
# -> a DSN for those; any recipient deferred (4xx, no answer, broken connection) ->
# it stays queued with exponential backoff (retry_base_seconds * 2^(attempts-1), at
# most retry_max_seconds) until the message is older than max_queue_lifetime_seconds,
# then it bounces with status 4.4.7. Each method is awaited per message by relay.py.
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence

from labctl.protocols import smtp
from roles.mailserver.bounces import RecipientFailure, status_of
from roles.mailserver.delivery import MailRouter
from roles.mailserver.durable_files import in_io_thread
from roles.mailserver.mx_lookup import Route
from roles.mailserver.printable import printable
from roles.mailserver.settings import MailServerSettings
from roles.mailserver.storage import OutgoingQueue, QueuedMessage

log = logging.getLogger("mailserver")


def _rcpts(addresses: Sequence[str]) -> str:
    return ",".join(f"<{printable(a)}>" for a in addresses)


class Outcomes:
    """Records the outcome of delivery attempts in the queue, the log and DSNs."""

    def __init__(self, settings: MailServerSettings, queue: OutgoingQueue, router: MailRouter,
                 clock: Callable[[], float], wait: Callable[[QueuedMessage], None]) -> None:
        self.settings, self.queue, self.router, self.clock = settings, queue, router, clock
        self._wait = wait  # hands a deferred message back to the relay's waiting list

    async def settle(self, message: QueuedMessage, replies: Mapping[str, smtp.Reply],
                     route: Route) -> None:
        """Apply the replies that settled each recipient in one attempt."""
        temporary = {r: reply for r, reply in replies.items() if 400 <= reply.code < 500}
        permanent = {r: reply for r, reply in replies.items() if reply.code >= 500}
        delivered = [r for r in replies if r not in temporary and r not in permanent]
        if delivered and not temporary and not permanent:
            self.queue.remove(message.id)  # at once, in the loop: it never blocks
        if delivered:
            log.info("relayed id=%s to=%s via=%s", message.id, _rcpts(delivered), route.where)
        failures = [
            RecipientFailure(r, status_of(reply.code, reply.text),
                             f"smtp; {reply.code} {' '.join(reply.lines)}", route.hostname)
            for r, reply in permanent.items()
        ]
        if temporary:
            code, text = next((reply.code, " ".join(reply.lines)) for reply in temporary.values())
            message.rcpt_tos = list(temporary)
            await self.defer(message, f"{route.where} said: {code} {text}", failures)
        elif failures:
            await self._fail(message, failures)

    async def defer(self, message: QueuedMessage, error: str,
                    failures: Sequence[RecipientFailure] = ()) -> None:
        """Keep the message for a later attempt, or bounce it when it is too old."""
        age = self.clock() - message.created
        if age >= self.settings.max_queue_lifetime_seconds:
            expired = [RecipientFailure(r, "4.4.7", f"x-maillab; gave up after {message.attempts}"
                                        f" attempts in {age:.0f}s, last error: {error}")
                       for r in message.rcpt_tos]
            await self._fail(message, [*failures, *expired])
            return
        message.last_error = printable(error, 500)
        delay = min(self.settings.retry_base_seconds * 2 ** max(message.attempts - 1, 0),
                    self.settings.retry_max_seconds)
        message.next_attempt = self.clock() + delay
        await in_io_thread(self.queue.update, message)
        log.info("deferred id=%s attempts=%d retry_in=%.1fs error=%s", message.id,
                 message.attempts, delay, message.last_error)
        if failures:
            await in_io_thread(self.router.bounce, message, failures)
        self._wait(message)

    async def unsendable(self, message: QueuedMessage, problem: str) -> None:
        """Bounce a message whose envelope cannot be written as SMTP commands."""
        message.attempts += 1
        status = "5.1.7" if problem.startswith("sender") else "5.1.3"
        await self._fail(message, [RecipientFailure(r, status, f"x-maillab; {problem}")
                                   for r in message.rcpt_tos], problem)

    async def unroutable(self, message: QueuedMessage, problem: str) -> None:
        """Bounce a message for a domain no lab server receives."""
        message.attempts += 1
        await self._fail(message, [RecipientFailure(r, "5.1.2", f"x-maillab; {problem}")
                                   for r in message.rcpt_tos])

    def retry_later_in_memory(self, message: QueuedMessage) -> None:
        """Could not even record an outcome (disk error): try again later, from memory."""
        message.next_attempt = self.clock() + self.settings.retry_max_seconds
        self._wait(message)

    async def _fail(self, message: QueuedMessage, failures: Sequence[RecipientFailure],
                    error: str = "") -> None:
        error = printable(error or "; ".join(
            f"<{printable(f.recipient)}>: {f.diagnostic}" for f in failures), 1000)
        await in_io_thread(self.queue.fail, message, error)
        log.error("bounced id=%s to=%s error=%s", message.id,
                  _rcpts([f.recipient for f in failures]), error)
        if failures:
            await in_io_thread(self.router.bounce, message, failures)
