# The progress of a class's grading on stderr: at a terminal one line redrawn in place
# (a bar, done/total, passed, errors, time elapsed); elsewhere (a log file, CI) one
# plain line per graded submission. Notes (a lab coming up, a retry) print above the
# bar. Workers report from several threads, so every write holds one lock.
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TextIO

BAR_WIDTH = 24
CLEAR_LINE = "\r\x1b[K"


def elapsed_text(seconds: float) -> str:
    """0:42, 12:05, 1:02:03."""
    minutes, second = divmod(int(seconds), 60)
    hours, minute = divmod(minutes, 60)
    return f"{hours}:{minute:02}:{second:02}" if hours else f"{minute}:{second:02}"


class GradingProgress:
    """Counts graded submissions and shows it on `stream`."""

    def __init__(self, total: int, stream: TextIO,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.total, self.done, self.passed, self.errors = total, 0, 0, 0
        self._stream, self._clock, self._start = stream, clock, clock()
        self._live = stream.isatty()
        self._lock = threading.Lock()

    def counts(self) -> str:
        """3/10 graded, 2 passed, 1 error, 0:42."""
        errors = f"{self.errors} error{'s' if self.errors != 1 else ''}"
        return (f"{self.done}/{self.total} graded, {self.passed} passed, {errors}, "
                f"{elapsed_text(self._clock() - self._start)}")

    def status_line(self) -> str:
        """The bar and the counts: [#####.....] 3/10 graded, ..."""
        filled = BAR_WIDTH * self.done // self.total if self.total else BAR_WIDTH
        return f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {self.counts()}"

    def note(self, message: str) -> None:
        """A line of its own (above the bar at a terminal)."""
        with self._lock:
            if self._live:
                self._stream.write(CLEAR_LINE + f"labctl: {message}\n" + self.status_line())
            else:
                self._stream.write(f"labctl: {message}\n")
            self._stream.flush()

    def graded(self, student: str, outcome: str, passed: bool, error: bool) -> None:
        """Count one submission graded (`outcome` says how it did) and show it."""
        with self._lock:
            self.done += 1
            self.passed += passed
            self.errors += error
            if self._live:
                self._stream.write(CLEAR_LINE + self.status_line())
            else:
                self._stream.write(f"labctl: {student}: {outcome} ({self.counts()})\n")
            self._stream.flush()

    def tick(self) -> None:
        """Redraw the bar (the elapsed time moves on) at a terminal."""
        with self._lock:
            if self._live:
                self._stream.write(CLEAR_LINE + self.status_line())
                self._stream.flush()

    def finish(self) -> None:
        """End the bar's line at a terminal."""
        with self._lock:
            if self._live:
                self._stream.write(CLEAR_LINE + self.status_line() + "\n")
                self._stream.flush()
