# Unique, time-sortable names for queued and delivered messages.
from __future__ import annotations

import itertools
import os
import secrets
import time

_counter = itertools.count()


def new_message_name() -> str:
    """A unique name that sorts by creation time: `<ns>.M<n>P<pid>R<random>`."""
    return f"{time.time_ns()}.M{next(_counter)}P{os.getpid()}R{secrets.token_hex(3)}"
