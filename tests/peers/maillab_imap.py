# maillab's own mail server as an IMAP peer for blocking client code (the user agent's
# imaplib client): a MailServer running in its own thread and event loop, on the test
# instance's receiver-mta addresses, with the same face as tests/peers/dovecot.py's
# DovecotInstance, so one test runs against either server.
from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from roles.mailserver.maildir_layout import INBOX
from roles.mailserver.server import MailServer
from roles.mailserver.storage import Mailboxes
from tests.roles.conftest import settings_for


@dataclass(frozen=True)
class MaillabImap:
    """A running maillab server: where its IMAP service listens, and its store."""

    host: str
    imap_port: int
    store: Mailboxes  # delivering through it wakes the server's IDLE sessions

    def sessions_watching(self, address: str, folder: str = INBOX) -> int:
        """How many IMAP sessions have the folder selected now, and so learn at once (in
        IDLE too) of a message delivered through `store`."""
        return self.store.events.watching(address, folder)


@contextmanager
def running_maillab_imap(data_dir: Path, host: str) -> Iterator[MaillabImap]:
    """The receiver-mta's mail server storing under `data_dir`, its IMAP service on
    `host` (one of its test-instance addresses); stopped afterwards."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="maillab-imap", daemon=True)
    thread.start()
    server = MailServer(settings_for("receiver-mta", data_dir))
    try:
        asyncio.run_coroutine_threadsafe(server.start(control_agent=False), loop).result(30)
        port = next(port for bound, port in server.bound["imap"] if bound == host)
        yield MaillabImap(host, port, server.mailboxes)
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        loop.close()
