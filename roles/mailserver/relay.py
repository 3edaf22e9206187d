# The relay worker: delivers queued messages to the other lab mail server over SMTP.
#
# Destinations come from an MX lookup in the lab's DNS (mx_lookup.py): a domain the
# lab's DNS does not know fails for good with a clear error, a DNS that does not answer
# is retried. The source address is this role's own address on the destination's
# network, so per-link captures see the right hosts.
# All due messages for one server go over ONE connection. Connection failures and
# 4xx replies keep a message queued with backoff (2s, 4s, ... capped); 5xx replies
# move it to failed/ and bounce it to a local sender.
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

import aiosmtplib

from roles.mailserver.delivery import MailRouter
from roles.mailserver.mx_lookup import Route, RouteError, lookup_route
from roles.mailserver.settings import MailServerSettings
from roles.mailserver.storage import OutgoingQueue, QueuedMessage

log = logging.getLogger("mailserver")


class RelayWorker:
    """Takes due messages from the queue and pushes them to their destination server."""

    def __init__(self, settings: MailServerSettings, queue: OutgoingQueue, router: MailRouter,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings, self.queue, self.router, self.clock = settings, queue, router, clock
        self._wake = asyncio.Event()
        self._stopped = False

    def wake(self) -> None:
        """Look at the queue now (a message was just queued)."""
        self._wake.set()

    def stop(self) -> None:
        """Make run() return after the current step (cancellation alone can get lost)."""
        self._stopped = True
        self._wake.set()

    async def run(self) -> None:
        """Deliver until stop(): a pass over the queue, then sleep until due or woken."""
        self._stopped = False
        while not self._stopped:
            self._wake.clear()
            try:
                delay = await self.run_once()
            except Exception:
                log.exception("relay pass failed")
                delay = self.settings.retry_max_seconds
            # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()

    async def run_once(self) -> float | None:
        """One pass over the due messages; seconds until the next one is due (None: empty)."""
        due: dict[str, list[QueuedMessage]] = {}
        for message in await asyncio.to_thread(self.queue.messages):
            if message.next_attempt <= self.clock() and message.rcpt_tos:
                domain = message.rcpt_tos[0].rpartition("@")[2].lower()
                due.setdefault(domain, []).append(message)
        for domain, messages in due.items():
            if self._stopped:
                return None
            try:
                route = await self.route(domain)
            except RouteError as error:
                settle = self._permanent if error.permanent else self._temporary
                for message in messages:
                    await settle(message, str(error))
                continue
            await self._deliver(route, messages)
        waiting = [m.next_attempt for m in await asyncio.to_thread(self.queue.messages)]
        return max(0.0, min(waiting) - self.clock()) if waiting else None

    async def route(self, domain: str) -> Route:
        """The route to `domain` by MX lookup in the lab's DNS; RouteError when there is none."""
        return await lookup_route(self.settings, domain)

    async def _deliver(self, route: Route, messages: list[QueuedMessage]) -> None:
        client = aiosmtplib.SMTP(
            hostname=route.host, port=route.port, source_address=(route.source, 0),
            local_hostname=self.settings.hostname, start_tls=False, timeout=30,
        )
        where = f"{route.role} ({route.host}:{route.port})"
        try:
            await client.connect()
        except (aiosmtplib.SMTPException, OSError) as exc:
            for message in messages:
                await self._temporary(message, f"cannot connect to {where}: {exc}")
            return
        try:
            for index, message in enumerate(messages):
                if self._stopped:
                    break
                try:
                    errors, _ = await client.sendmail(message.mail_from, message.rcpt_tos,
                                                      message.data)
                    refused = {r: (resp.code, resp.message) for r, resp in errors.items()}
                except aiosmtplib.SMTPRecipientsRefused as exc:
                    refused = {r.recipient: (r.code, r.message) for r in exc.recipients}
                except aiosmtplib.SMTPServerDisconnected as exc:
                    for rest in messages[index:]:
                        await self._temporary(rest, f"{where} disconnected: {exc}")
                    return
                except aiosmtplib.SMTPResponseException as exc:
                    refused = {r: (exc.code, exc.message) for r in message.rcpt_tos}
                await self._settle(message, refused, where)
        finally:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()

    async def _settle(self, message: QueuedMessage, refused: dict[str, tuple[int, str]],
                      where: str) -> None:
        delivered = [r for r in message.rcpt_tos if r not in refused]
        if delivered:
            log.info("relayed id=%s to=%s via=%s", message.id,
                     ",".join(f"<{r}>" for r in delivered), where)
        failed = [r for r, (code, _) in refused.items() if code >= 500]
        retry = [r for r, (code, _) in refused.items() if code < 500]
        if failed:
            code, text = refused[failed[0]]
            error = f"{where} refused {','.join(failed)}: {code} {text}"
            failed_copy = QueuedMessage(**{**vars(message), "rcpt_tos": failed})
            await self._permanent(failed_copy, error, keep_queued=bool(retry))
        if retry:
            code, text = refused[retry[0]]
            message.rcpt_tos = retry
            await self._temporary(message, f"{where} deferred: {code} {text}")
        elif not failed:
            await asyncio.to_thread(self.queue.remove, message.id)

    async def _temporary(self, message: QueuedMessage, error: str) -> None:
        message.attempts += 1
        message.last_error = error
        delay = min(self.settings.retry_base_seconds * 2 ** (message.attempts - 1),
                    self.settings.retry_max_seconds)
        message.next_attempt = self.clock() + delay
        await asyncio.to_thread(self.queue.update, message)
        log.info("deferred id=%s attempts=%d retry_in=%.0fs error=%s", message.id,
                 message.attempts, delay, error)

    async def _permanent(self, message: QueuedMessage, error: str,
                         keep_queued: bool = False) -> None:
        message.attempts += 1
        if keep_queued:  # other recipients are retried: record the failure, keep the file
            message.last_error = error
        else:
            await asyncio.to_thread(self.queue.fail, message, error)
        log.error("bounced id=%s to=%s error=%s", message.id,
                  ",".join(f"<{r}>" for r in message.rcpt_tos), error)
        await asyncio.to_thread(self.router.bounce, message.mail_from, message.rcpt_tos, error)
