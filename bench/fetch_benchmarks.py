# The mailbox-reading benchmarks: Bob downloading one mailbox, ours vs Dovecot.
#
#   pop3-fetch   one POP3 session RETRs every message (and keeps them), msg/s;
#                baseline: Dovecot's POP3 on the same messages.
#   imap-fetch   one IMAP session: SELECT INBOX, FETCH 1:* (BODY.PEEK[HEADER]), then
#                FETCH 1:* (BODY.PEEK[]), msg/s for each FETCH; baseline: Dovecot's IMAP.
# Each repetition writes the same messages with our mailbox store into receiver-mta's
# Maildir and into Dovecot's, starts both afresh, opens one untimed session on each
# first (Dovecot builds its index, ours its UID list: a mailbox is read many times, made
# once), then times the download from login to logout. The client is Python's poplib or
# imaplib on Bob's PC's address, the same for both servers.
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from bench.dovecot import DOVECOT_PROGRAMS, DovecotInstance, running_dovecot
from bench.our_lab import our_lab
from bench.registry import Context, Series, benchmark
from roles.mailserver.mailbox_store import MaildirMailboxes
from roles.useragent.imap_client import BoundIMAP4
from roles.useragent.mail_clients import BoundPOP3

RECEIVER, BOB_LAN = "receiver-mta", "bob-lan"
BOB, BOB_PASSWORD = "bob@hamburger.edu", "bob-pw"
DOVECOT_IMAP_PORT, DOVECOT_POP3_PORT = 2143, 2110  # on receiver-mta's bob-lan address
MESSAGE_COUNTS = (50, 1000)  # small, full
TIMEOUT = 120.0
Download = Callable[[str, int, str], None]  # (host, port, source): one timed session


def sample_message(number: int) -> bytes:
    """A typical message of about 6 KB: a text part and a small attachment."""
    text = "".join(f"Line {line} of message {number}, as people write them.\r\n"
                   for line in range(40))
    attachment = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=\r\n" * 80
    return (
        f"From: Alice <alice@crepes.fr>\r\nTo: Bob <bob@hamburger.edu>\r\n"
        f"Subject: message {number}\r\nDate: Fri, 27 Nov 2026 10:00:00 +0000\r\n"
        f"Message-ID: <{number}.bench@crepes.fr>\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/mixed; boundary="b{number}"\r\n\r\n'
        f"--b{number}\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n{text}"
        f"--b{number}\r\nContent-Type: application/octet-stream; name=data.bin\r\n"
        f"Content-Transfer-Encoding: base64\r\n\r\n{attachment}--b{number}--\r\n"
    ).encode("ascii")


def _fill(mail: Path, count: int) -> None:
    """Deliver the benchmark's `count` messages into Bob's INBOX under `mail`."""
    store = MaildirMailboxes(mail)
    for number in range(count):
        store.deliver(BOB, sample_message(number))


def _pop3_download(count: int) -> Download:
    def download(host: str, port: int, source: str) -> None:
        pop = BoundPOP3(host, port, source, TIMEOUT)
        pop.user("bob")
        pop.pass_(BOB_PASSWORD)
        for number in range(1, count + 1):
            pop.retr(number)
        pop.quit()
    return download


def _imap_download(item: str) -> Download:
    def download(host: str, port: int, source: str) -> None:
        imap = BoundIMAP4(host, port, source, TIMEOUT)
        imap.login("bob", BOB_PASSWORD)
        imap.select("INBOX")
        status, _ = imap.fetch("1:*", f"(BODY.PEEK[{item}])")
        if status != "OK":
            raise RuntimeError(f"FETCH 1:* BODY.PEEK[{item}] answered {status}")
        imap.logout()
    return download


def _rate(download: Download, count: int, host: str, port: int, source: str) -> float:
    start = time.perf_counter()
    download(host, port, source)
    return count / (time.perf_counter() - start)


def _race(context: Context, repetition: int, service: str,
          downloads: list[tuple[Download, Series, Series]], warm_up: Download) -> None:
    """One repetition: every download against our receiver-mta, then against Dovecot."""
    count = context.pick(*MESSAGE_COUNTS)
    plan = context.plan
    host, source = plan.address(RECEIVER, BOB_LAN), plan.address("receiver-ua", BOB_LAN)
    work = context.work / f"fetch-{repetition}"
    _fill(work / RECEIVER / "mailboxes", count)
    with our_lab(work, plan, RECEIVER):
        port = plan.port(RECEIVER, service)
        warm_up(host, port, source)
        for download, ours, _ in downloads:
            ours.values.append(_rate(download, count, host, port, source))
    with running_dovecot({BOB: BOB_PASSWORD}, host, DOVECOT_IMAP_PORT,
                         DOVECOT_POP3_PORT) as dovecot:
        _fill(dovecot.mail, count)
        port = _dovecot_port(dovecot, service)
        warm_up(host, port, source)
        for download, _, baseline in downloads:
            baseline.values.append(_rate(download, count, host, port, source))


def _dovecot_port(dovecot: DovecotInstance, service: str) -> int:
    return dovecot.imap_port if service == "imap" else dovecot.pop3_port


def _pair(what: str) -> tuple[Series, Series]:
    """Our series and Dovecot's for `what`, ours compared with Dovecot's."""
    baseline = f"dovecot {what}"
    return (Series(f"ours {what}", "msg/s", higher_is_better=True, baseline=baseline),
            Series(baseline, "msg/s", higher_is_better=True, baseline=baseline))


@benchmark("pop3-fetch", "one POP3 session RETRs every message of a mailbox",
           baseline="dovecot pop3 retr", needs=tuple(DOVECOT_PROGRAMS))
def pop3_fetch(context: Context) -> list[Series]:
    """receiver-mta's POP3 vs Dovecot's on the same mailbox."""
    ours, dovecot = _pair("pop3 retr")
    download = _pop3_download(context.pick(*MESSAGE_COUNTS))
    for repetition in range(context.repeat):
        _race(context, repetition, "pop3", [(download, ours, dovecot)], _pop3_download(0))
    return [ours, dovecot]


@benchmark("imap-fetch", "one IMAP session fetches every message: headers, then whole",
           baseline="dovecot imap headers", needs=tuple(DOVECOT_PROGRAMS))
def imap_fetch(context: Context) -> list[Series]:
    """receiver-mta's IMAP vs Dovecot's on the same mailbox, headers then whole messages."""
    headers, whole = _pair("imap headers"), _pair("imap whole messages")
    downloads = [(_imap_download("HEADER"), *headers), (_imap_download(""), *whole)]
    for repetition in range(context.repeat):
        _race(context, repetition, "imap", downloads, _imap_download("HEADER.FIELDS (DATE)"))
    return [*headers, *whole]
