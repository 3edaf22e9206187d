# Events common to every protocol state machine: "need more bytes" and "peer closed".
from __future__ import annotations

from dataclasses import dataclass
from typing import final


@final
class NeedData:
    """Sentinel returned by next_event() when no complete event is buffered yet."""

    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA = NeedData()


@dataclass(frozen=True)
class ConnectionClosed:
    """The peer closed the connection (or the dialog ended with QUIT)."""
