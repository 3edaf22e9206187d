# Waiting for a file to arrive in a Maildir folder without polling it.
#
# The latency benchmark times each message until its file is in new/. Polling the
# folder every half millisecond costs the client about as much CPU as the servers it
# measures spend, and on a 2-core machine that CPU is taken from them: the figure then
# measures the poller as much as the mail path. Linux's inotify wakes the client only
# when a file is renamed or linked into the folder (both Maildir deliveries, ours and
# Postfix's, end that way), so the client sleeps in the event loop meanwhile. libc is
# reached through ctypes; the benchmarks run on Linux only.
from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import os
import struct
from pathlib import Path
from types import TracebackType

IN_CREATE = 0x00000100
IN_MOVED_TO = 0x00000080
IN_NONBLOCK = 0o4000
IN_CLOEXEC = 0o2000000
_EVENT_HEAD = struct.Struct("iIII")  # wd, mask, cookie, length of the name that follows


class FolderWatch:
    """Counts the files that arrive in `folder` (created or renamed into it) from now on."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.arrived = 0
        self._libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        self._fd = self._libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if self._fd < 0:
            raise OSError(ctypes.get_errno(), f"inotify_init1: {os.strerror(ctypes.get_errno())}")
        mask = IN_CREATE | IN_MOVED_TO
        if self._libc.inotify_add_watch(self._fd, os.fsencode(folder), mask) < 0:
            errno = ctypes.get_errno()
            os.close(self._fd)
            raise OSError(errno, f"inotify_add_watch {folder}: {os.strerror(errno)}")

    def __enter__(self) -> FolderWatch:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        os.close(self._fd)

    async def wait_beyond(self, count: int, timeout: float) -> None:
        """Return once more than `count` files have arrived; TimeoutError after `timeout` s."""
        loop = asyncio.get_running_loop()
        changed = asyncio.Event()

        def on_readable() -> None:
            self._read_events()
            changed.set()

        loop.add_reader(self._fd, on_readable)
        try:
            async with asyncio.timeout(timeout):
                while self.arrived <= count:
                    await changed.wait()
                    changed.clear()
        finally:
            loop.remove_reader(self._fd)

    def _read_events(self) -> None:
        try:
            data = os.read(self._fd, 65536)
        except BlockingIOError:
            return
        offset = 0
        while offset < len(data):
            _, mask, _, length = _EVENT_HEAD.unpack_from(data, offset)
            offset += _EVENT_HEAD.size + length
            if mask & (IN_CREATE | IN_MOVED_TO):
                self.arrived += 1
