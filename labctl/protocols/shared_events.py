# The event API common to the SMTP and POP3 state machines (re-exported as smtp.X, pop3.X).
#
# A command line parses into a Command; a command that is well-formed and allowed in the
# current state comes out of next_event() as CommandReceived (SMTP also has richer events
# for MAIL, RCPT, AUTH and the message), one that is not as ProtocolErrorEvent carrying
# the error reply to send. NEED_DATA and ConnectionClosed need no reply.
from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar, final

ReplyT = TypeVar("ReplyT")


@dataclass(frozen=True)
class Command:
    """One command line: the upper-cased verb and the rest of the line."""

    verb: str
    argument: str = ""

    @property
    def arguments(self) -> list[str]:
        return self.argument.split()

    def to_bytes(self) -> bytes:
        """The command as a client sends it, CRLF included."""
        text = f"{self.verb} {self.argument}" if self.argument else self.verb
        return text.encode("utf-8") + b"\r\n"


@dataclass(frozen=True)
class CommandReceived:
    """A well-formed command allowed in the current state, with no more specific event."""

    command: Command


@dataclass(frozen=True)
class ProtocolErrorEvent(Generic[ReplyT]):
    """The peer broke the grammar or the sequence; `reply` is the error to send."""

    reply: ReplyT
    reason: str
    line: bytes = b""


@final
class NeedData:
    """Sentinel returned by next_event() when no complete event is buffered yet."""

    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA = NeedData()


@dataclass(frozen=True)
class ConnectionClosed:
    """The peer closed the connection (or the dialog ended with QUIT)."""
