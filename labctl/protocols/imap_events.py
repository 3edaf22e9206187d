# Events the IMAP server state machine hands to its application (imap_server.py).
#
# NeedData, ConnectionClosed and ProtocolErrorEvent (carrying the Response to send) are
# the shared ones (shared_events.py). IMAP's own: a complete command, the announcement
# of a synchronizing literal (answer with a continuation or refuse with a tagged NO/BAD),
# a client line inside AUTHENTICATE, and DONE ending IDLE.
from __future__ import annotations

from dataclasses import dataclass

from labctl.protocols.imap_commands import ImapCommand
from labctl.protocols.imap_replies import Response
from labctl.protocols.shared_events import (
    NEED_DATA,
    ConnectionClosed,
    NeedData,
    ProtocolErrorEvent,
)


@dataclass(frozen=True)
class ImapCommandReceived:
    """A complete, well-formed command allowed in the current state."""

    command: ImapCommand


@dataclass(frozen=True)
class LiteralAwaited:
    """The client announced a synchronizing literal {size}: send `+` or a tagged NO/BAD."""

    tag: str
    name: str
    size: int
    refusal: Response | None = None  # observing: what this machine would answer instead


@dataclass(frozen=True)
class AuthenticateResponse:
    """One client line inside AUTHENTICATE after a `+` challenge: base64, or `*` to cancel."""

    tag: str
    response: str

    @property
    def cancelled(self) -> bool:
        """True when the client gave up the exchange (RFC 3501 6.2.2)."""
        return self.response == "*"


@dataclass(frozen=True)
class IdleDone:
    """The client sent DONE to end IDLE (RFC 2177): send the tagged OK of the IDLE command."""

    tag: str


Event = (ImapCommandReceived | LiteralAwaited | AuthenticateResponse | IdleDone
         | ProtocolErrorEvent[Response] | ConnectionClosed | NeedData)

__all__ = [
    "NEED_DATA", "AuthenticateResponse", "ConnectionClosed", "Event", "IdleDone",
    "ImapCommandReceived", "LiteralAwaited", "NeedData", "ProtocolErrorEvent",
]
