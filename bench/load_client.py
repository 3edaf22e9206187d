# The benchmarks' own SMTP load client, for what smtp-source cannot do (AUTH on the
# submission port) and for latency (one message at a time, timed until its file is
# in the Maildir, watched with inotify: see folder_watch.py).
#
# Like `smtp-source -s S -m N -d`, it runs S sessions in parallel, each one connection
# (EHLO, AUTH when a login is given) carrying messages one after the other, one command
# at a time (smtp-source does not pipeline), until N messages are sent in all. It is the
# relay's own SMTP client (roles.mailserver.smtp_client.RelayClient), so it speaks the
# same SMTP as the lab's servers to each other. Anything but a 2xx/3xx reply aborts the
# run with that reply: a benchmark never counts refused mail.
from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from bench.folder_watch import FolderWatch
from bench.our_lab import wait_for_files
from labctl.model import User
from labctl.protocols import smtp
from roles.mailserver.smtp_client import RelayClient

TIMEOUT_SECONDS = 60.0
HELO = "bench.maillab.test"


class RefusedByServer(RuntimeError):
    """The server refused something the benchmark sent; the message quotes its reply."""


@dataclass(frozen=True)
class Submission:
    """Where and as whom the load client sends: server, source address, envelope, login."""

    server: tuple[str, int]
    source: str
    mail_from: str
    rcpt_to: str
    login: User | None = None


def sample_message(submission: Submission, number: int, body_size: int) -> bytes:
    """A plain message of about `body_size` bytes of body, numbered in its Subject."""
    line = b"La de da de da 1. La de da de da 2. La de da de da 3. La de da de da 4.\r\n"
    body = (line * (body_size // len(line) + 1))[:body_size].rpartition(b"\r\n")[0]
    return (f"From: <{submission.mail_from}>\r\nTo: <{submission.rcpt_to}>\r\n"
            f"Subject: benchmark message {number}\r\n"
            f"Message-ID: <bench-{number}-{time.time_ns()}@maillab.test>\r\n\r\n"
            ).encode("ascii") + body + b"\r\n"


async def _nothing_to_record() -> None:
    return None


def _expect(reply: smtp.Reply, what: str) -> None:
    if not reply.is_positive:
        raise RefusedByServer(f"{what}: {reply.code} {' '.join(reply.lines)}")


async def _open(submission: Submission) -> RelayClient:
    client = RelayClient(TIMEOUT_SECONDS)
    host, port = submission.server
    _expect(await client.connect(host, port, submission.source, HELO), f"EHLO to {host}:{port}")
    if submission.login is not None:
        reply = await client.authenticate(submission.login.address, submission.login.password)
        _expect(reply, f"AUTH as {submission.login.address}")
    return client


async def _send(client: RelayClient, submission: Submission, data: bytes) -> None:
    replies = await client.send_message(submission.mail_from, [submission.rcpt_to], data,
                                        _nothing_to_record)
    _expect(replies[submission.rcpt_to], f"message to <{submission.rcpt_to}>")


async def _send_load(submission: Submission, count: int, sessions: int, body_size: int) -> None:
    numbers = iter(range(count))

    async def session() -> None:
        client = await _open(submission)
        try:
            for number in numbers:  # shared: each message is taken by one session
                await _send(client, submission, sample_message(submission, number, body_size))
        finally:
            await client.quit()

    await asyncio.gather(*(session() for _ in range(min(sessions, count))))


def send_load(submission: Submission, count: int, sessions: int, body_size: int) -> None:
    """Send `count` messages over `sessions` parallel connections; return once all got 250."""
    asyncio.run(_send_load(submission, count, sessions, body_size))


async def _latencies(submission: Submission, count: int, body_size: int,
                     new: Path) -> list[float]:
    client = await _open(submission)
    times: list[float] = []
    try:
        # one message untimed, so that the folder exists and every path is warm
        await _send(client, submission, sample_message(submission, -1, body_size))
        await asyncio.to_thread(wait_for_files, new, 1, TIMEOUT_SECONDS)
        with FolderWatch(new) as arrivals:
            for number in range(count):
                data = sample_message(submission, number, body_size)
                start = time.perf_counter()
                await _send(client, submission, data)
                try:
                    await arrivals.wait_beyond(number, TIMEOUT_SECONDS)
                except TimeoutError:
                    raise TimeoutError(f"message {number} not in {new} within "
                                       f"{TIMEOUT_SECONDS:.0f}s") from None
                times.append((time.perf_counter() - start) * 1000)
    finally:
        await client.quit()
    return times


def latencies(submission: Submission, count: int, body_size: int, new: Path) -> list[float]:
    """Send `count` messages one at a time over one connection: for each, the ms from
    MAIL FROM until its file has arrived in the Maildir folder `new` (after one untimed
    message that warms the path up)."""
    return asyncio.run(_latencies(submission, count, body_size, new))


def percentile(values: list[float], fraction: float) -> float:
    """The `fraction` quantile of `values` (0.5: median, 0.99: p99), interpolated."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(fraction * 100) - 1]
