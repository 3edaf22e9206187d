# Change notification for mailbox folders, so an IMAP session in IDLE learns of new
# mail (or expunges, flag changes) without polling the disk in a loop.
#
# The mailbox store calls MailboxEvents.notify(address, folder) after every change it
# makes durably (deliver, append, copy, move, delete, flags, taking messages out of
# new/): changes by SMTP delivery, POP3, IMAP or webmail in the same process all pass
# through it. A session subscribes to (address, folder) and awaits its FolderWatch;
# notify() may run in any thread (deliveries run in worker threads), so a watch is
# woken with loop.call_soon_threadsafe on the loop that created it. A watch remembers
# a change that happened while nobody waited: wait() returns at once, then re-arms.
# Changes made by another process (a second server, a tool writing into new/) are not
# seen here; a session picks them up at its next look at the folder.
# changes() counts the notifications of a folder: a reader that notes the count before
# it lists the folder knows later, by comparing, whether it may have missed a change
# (an IMAP session subscribing only after its SELECT listed the folder).
from __future__ import annotations

import asyncio
import contextlib
import threading

from roles.mailserver.maildir_layout import check_address, check_folder_name


class FolderWatch:
    """One subscriber's view of changes to one folder; await wait() between looks."""

    def __init__(self, events: MailboxEvents, key: tuple[str, str]) -> None:
        self._events = events
        self.key = key
        self._loop = asyncio.get_running_loop()
        self._changed = asyncio.Event()

    def _wake(self) -> None:
        """Mark a change (any thread)."""
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
            self._loop.call_soon_threadsafe(self._changed.set)

    async def wait(self, timeout: float | None = None) -> bool:
        """Wait for a change since the last wait; True if one came, False on timeout."""
        try:
            await asyncio.wait_for(self._changed.wait(), timeout)
        except TimeoutError:
            return False
        self._changed.clear()
        return True

    def changed(self) -> bool:
        """True (and re-armed) when a change came since the last look; never waits."""
        if self._changed.is_set():
            self._changed.clear()
            return True
        return False

    def close(self) -> None:
        """Stop watching (the session left the folder or ended)."""
        self._events.unsubscribe(self)

    def __enter__(self) -> FolderWatch:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class MailboxEvents:
    """Who watches which folder; notify() wakes them, from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._watches: dict[tuple[str, str], set[FolderWatch]] = {}
        self._changes: dict[tuple[str, str], int] = {}

    @staticmethod
    def key(address: str, folder: str) -> tuple[str, str]:
        """The canonical (address, folder) a change is known by."""
        return check_address(address), check_folder_name(folder)

    def subscribe(self, address: str, folder: str) -> FolderWatch:
        """A watch on one folder, woken on the calling thread's running event loop."""
        watch = FolderWatch(self, self.key(address, folder))
        with self._lock:
            self._watches.setdefault(watch.key, set()).add(watch)
        return watch

    def unsubscribe(self, watch: FolderWatch) -> None:
        """Forget a watch (closing it twice is harmless)."""
        with self._lock:
            watches = self._watches.get(watch.key)
            if watches is not None:
                watches.discard(watch)
                if not watches:
                    del self._watches[watch.key]

    def watching(self, address: str, folder: str) -> int:
        """How many watches the folder has now (e.g. IMAP sessions in IDLE on it)."""
        with self._lock:
            return len(self._watches.get(self.key(address, folder), ()))

    def changes(self, address: str, folder: str) -> int:
        """How many changes of the folder were announced so far."""
        key = self.key(address, folder)
        with self._lock:
            return self._changes.get(key, 0)

    def notify(self, address: str, folder: str) -> None:
        """Wake every watch of the folder (call after the change is durable)."""
        key = self.key(address, folder)
        with self._lock:
            self._changes[key] = self._changes.get(key, 0) + 1
            watches = list(self._watches.get(key, ()))
        for watch in watches:
            watch._wake()
