# Writing files so that they survive a crash: data fsync, atomic rename, directory fsync.
#
# Used by the disk queue and the Maildir store before the server answers 250, with
# GroupCommit so that concurrent deliveries share their fsyncs. The asyncio side runs
# these blocking calls with in_io_thread(), on a pool large enough for every SMTP
# session and relay connection to wait on its fsync at once: a group commit can only
# gather as many writes as there are threads waiting (asyncio's default pool has
# CPUs + 4 threads, which would cap a batch at 6 messages on a 2-core machine).
from __future__ import annotations

import asyncio
import functools
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Generic, ParamSpec, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")
Params = ParamSpec("Params")
IO_THREADS = 128  # the default SMTP max_connections (100) plus the relay's connections
_io_threads = ThreadPoolExecutor(IO_THREADS, thread_name_prefix="maillab-io")


async def in_io_thread(function: Callable[Params, Result], *args: Params.args,
                       **kwargs: Params.kwargs) -> Result:
    """Run a blocking storage call (fsyncs) in the I/O thread pool; its result."""
    call = functools.partial(function, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(_io_threads, call)


def fsync_directory(directory: Path) -> None:
    """Flush a directory's entries (creations, renames, unlinks) to disk."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_file_synced(path: Path, data: bytes) -> None:
    """Create `path` (which must not exist) with `data` and fsync the file."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    finally:
        os.close(fd)


class _Slot(Generic[Item]):
    """One submitted item and what became of it."""

    def __init__(self, item: Item) -> None:
        self.item = item
        self.done = False
        self.error: BaseException | None = None


class GroupCommit(Generic[Item]):
    """Group commit: items submitted by many threads are committed in batches.

    submit() returns (or raises the batch's error) only once a `commit(items)` call that
    contained its item has finished: while one batch is being committed (its fsyncs
    running), the items submitted meanwhile gather and go together in the next one, so
    N concurrent callers pay for a few fsyncs instead of N times as many.
    """

    def __init__(self, commit: Callable[[list[Item]], None]) -> None:
        self._commit = commit
        self._condition = threading.Condition()
        self._pending: list[_Slot[Item]] = []
        self._busy = False

    def submit(self, item: Item) -> None:
        """Commit `item` (with whatever else is waiting); return when it is committed."""
        slot = _Slot(item)
        with self._condition:
            self._pending.append(slot)
            while self._busy and not slot.done:
                self._condition.wait()
            if slot.done:
                self._raise_if_failed(slot)
                return
            batch, self._pending, self._busy = self._pending, [], True
        error: BaseException | None = None
        try:
            self._commit([taken.item for taken in batch])
        except BaseException as exc:
            error = exc
        with self._condition:
            for taken in batch:
                taken.done, taken.error = True, error
            self._busy = False
            self._condition.notify_all()
        self._raise_if_failed(slot)

    @staticmethod
    def _raise_if_failed(slot: _Slot[Item]) -> None:
        if slot.error is not None:
            raise slot.error
