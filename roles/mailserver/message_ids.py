# Unique, time-sortable names for queued and delivered messages.
#
# The process id and a random generator seeded from the OS are taken once per process
# (and again in a forked child), so a name costs no system call beyond the clock.
from __future__ import annotations

import itertools
import os
import random
import time

_counter = itertools.count()
_pid = os.getpid()
_random = random.Random(os.urandom(16))


def _after_fork() -> None:
    global _pid, _random
    _pid, _random = os.getpid(), random.Random(os.urandom(16))


os.register_at_fork(after_in_child=_after_fork)


def new_message_name() -> str:
    """A unique name that sorts by creation time: `<ns>.M<n>P<pid>R<random>`."""
    return f"{time.time_ns()}.M{next(_counter)}P{_pid}R{_random.getrandbits(24):06x}"
