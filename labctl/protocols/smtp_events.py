# Events the SMTP server state machine hands to its application (smtp_server.py).
#
# Each is a frozen dataclass describing one thing the client did; the application
# answers every event except NeedData/ConnectionClosed with exactly one Reply.
# CommandReceived, ProtocolErrorEvent, NeedData and ConnectionClosed are the shared
# ones (shared_events.py); the rest are SMTP's own.
from __future__ import annotations

from dataclasses import dataclass, field

from labctl.protocols.shared_events import (
    NEED_DATA,
    CommandReceived,
    ConnectionClosed,
    NeedData,
    ProtocolErrorEvent,
)
from labctl.protocols.smtp_grammar import Reply


@dataclass(frozen=True)
class Hello:
    """HELO (extended=False) or EHLO (extended=True) with the client's domain."""

    domain: str
    extended: bool


@dataclass(frozen=True)
class MailFrom:
    """MAIL FROM:<address> with its ESMTP parameters (SIZE, BODY, ...)."""

    address: str
    parameters: dict[str, str] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class RcptTo:
    """RCPT TO:<address> with its ESMTP parameters."""

    address: str
    parameters: dict[str, str] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class AuthRequested:
    """AUTH <mechanism> [initial-response]; the response is still base64 text."""

    mechanism: str
    initial_response: str | None = None


@dataclass(frozen=True)
class AuthResponse:
    """One client line of a SASL exchange after a 334 challenge (base64 or '*')."""

    response: str

    @property
    def cancelled(self) -> bool:
        return self.response == "*"


@dataclass(frozen=True)
class MessageReceived:
    """A complete DATA body, dot-stuffing removed, CRLF line endings kept."""

    data: bytes


Event = (
    CommandReceived | Hello | MailFrom | RcptTo | AuthRequested | AuthResponse
    | MessageReceived | ProtocolErrorEvent[Reply] | ConnectionClosed | NeedData
)

__all__ = [
    "NEED_DATA", "AuthRequested", "AuthResponse", "CommandReceived", "ConnectionClosed",
    "Event", "Hello", "MailFrom", "MessageReceived", "NeedData", "ProtocolErrorEvent", "RcptTo",
]
