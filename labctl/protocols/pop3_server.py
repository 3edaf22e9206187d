# The server side of a POP3 connection (RFC 1939) as a sans-I/O state machine.
#
# Theory of operation
# -------------------
# Same shape as smtp_server.py: receive_data() buffers bytes, next_event() hands
# out one CommandReceived at a time (or NEED_DATA), the application answers with a
# pop3 Reply through send(), which returns the bytes to write (multi-line bodies
# dot-stuffed). The session states are RFC 1939's: AUTHORIZATION (USER given or
# not), TRANSACTION, and UPDATE after QUIT in TRANSACTION, where the application
# applies the deletions. States change only when a reply is sent: send() looks up
# (state, pending command, +OK or -ERR) in TRANSITIONS; a failed PASS or APOP
# starts the login over. Commands not allowed in the current state, unknown
# commands and malformed arguments come out as ProtocolErrorEvent carrying an -ERR
# reply. STLS (RFC 2595, when offered) answered +OK throws away the bytes the
# client sent after it (kept in `discarded_before_tls`, never executed).
from __future__ import annotations

import re
from enum import Enum

from labctl.protocols import pop3_replies as replies
from labctl.protocols.errors import ProtocolError
from labctl.protocols.line_buffer import OVERLONG, LineBuffer
from labctl.protocols.numbers import is_ascii_number
from labctl.protocols.pop3_grammar import MAX_COMMAND_LINE, Reply, parse_command
from labctl.protocols.shared_events import (
    NEED_DATA,
    Command,
    CommandReceived,
    ConnectionClosed,
    NeedData,
    ProtocolErrorEvent,
)


class Pop3State(Enum):
    AUTHORIZATION = "authorization"
    USER_GIVEN = "user-given"  # USER accepted, PASS expected
    TRANSACTION = "transaction"
    UPDATE = "update"  # QUIT received in TRANSACTION: apply deletions, then close
    CLOSED = "closed"


Event = CommandReceived | ProtocolErrorEvent[Reply] | ConnectionClosed | NeedData

A, U, T = Pop3State.AUTHORIZATION, Pop3State.USER_GIVEN, Pop3State.TRANSACTION
ALLOWED: dict[str, frozenset[Pop3State]] = {
    "CAPA": frozenset({A, U, T}), "QUIT": frozenset({A, U, T}),
    "USER": frozenset({A, U}), "PASS": frozenset({U}), "APOP": frozenset({A, U}),
    "STLS": frozenset({A}),
    **{v: frozenset({T}) for v in ("STAT", "LIST", "RETR", "DELE", "NOOP", "RSET", "UIDL", "TOP")},
}
# (minimum, maximum) count of numeric arguments for commands that take message numbers.
NUMERIC_ARGUMENTS: dict[str, tuple[int, int]] = {
    "STAT": (0, 0), "LIST": (0, 1), "UIDL": (0, 1), "RETR": (1, 1), "DELE": (1, 1),
    "TOP": (2, 2), "NOOP": (0, 0), "RSET": (0, 0),
}
NO_ARGUMENTS = frozenset({"STLS", "QUIT", "CAPA"})
_APOP_ARGUMENTS = re.compile(r"[!-~]+ [0-9a-fA-F]{32}")  # name SP 32-hex MD5 digest
MAX_NUMBER_DIGITS = 9  # message numbers and TOP line counts stay below 10**9
# Next state after +OK (True) or -ERR (False) to a command sent in a state.
TRANSITIONS: dict[tuple[Pop3State, str, bool], Pop3State] = {
    (A, "USER", True): U, (U, "USER", True): U, (U, "PASS", True): T,
    (A, "APOP", True): T, (U, "APOP", True): T,
    (U, "USER", False): A, (U, "PASS", False): A, (U, "APOP", False): A,  # login starts over
    (A, "QUIT", True): Pop3State.CLOSED, (U, "QUIT", True): Pop3State.CLOSED,
    (T, "QUIT", True): Pop3State.UPDATE,
    (A, "AUTH", True): T,  # RFC 5034 SASL, which only an observed server offers
}
# (pending, ok) after which bytes the client sent ahead are thrown away unread.
DISCARDS_PIPELINED = frozenset({("STLS", True)})


class ServerConnection:
    """One POP3 server connection: bytes in, events out, replies in, bytes out."""

    def __init__(self, stls: bool = False) -> None:
        self.state = Pop3State.AUTHORIZATION
        self.stls = stls  # a certificate is configured: STLS is accepted
        self.discarded_before_tls = b""  # bytes the client pipelined after STLS
        self._buffer = LineBuffer()
        self._pending: str | None = None

    def receive_data(self, data: bytes) -> None:
        """Feed bytes received from the client; b"" means the client closed."""
        self._buffer.feed(data)

    def send(self, reply: Reply) -> bytes:
        """Record the reply to the pending command, apply the state change, return its bytes."""
        pending, self._pending = self._pending or "", None
        self.state = TRANSITIONS.get((self.state, pending, reply.ok), self.state)
        if (pending, reply.ok) in DISCARDS_PIPELINED:  # TLS starts: once per connection
            self.discarded_before_tls += self._buffer.discard()
            self.stls = False
        return reply.to_bytes()

    def observe_reply(self, reply: Reply, answered: str | None = None) -> None:
        """Apply a reply another server chose (the analyzer replays captured dialogs).

        When this machine refused a command that the observed server answered anyway,
        `answered` names its verb so the state follows the observed server.
        """
        if self._pending == "ERROR" and answered is not None:
            self._pending = answered
        self.send(reply)

    @property
    def unread(self) -> int:
        """Bytes received but not yet handed out in an event."""
        return len(self._buffer)

    def next_event(self) -> Event:
        """The next event from the buffered bytes, or NEED_DATA."""
        if self._pending is not None:
            raise RuntimeError(f"send() the reply to {self._pending} before next_event()")
        if self.state in (Pop3State.UPDATE, Pop3State.CLOSED):
            return ConnectionClosed()
        line = self._buffer.pop_line(MAX_COMMAND_LINE)
        if line is None:
            if self._buffer.closed:
                self.state = Pop3State.CLOSED
                return ConnectionClosed()
            return NEED_DATA
        self._pending = "ERROR"
        if line is OVERLONG:
            return _error(replies.LINE_TOO_LONG(limit=MAX_COMMAND_LINE))
        try:
            command = parse_command(line)
        except ProtocolError as exc:
            return _error(replies.GRAMMAR_ERROR(reason=exc.reason), line)
        if command.verb not in ALLOWED or (command.verb == "STLS" and not self.stls):
            return _error(replies.UNKNOWN_COMMAND(verb=command.verb), line)
        if self.state not in ALLOWED[command.verb]:
            return _error(_sequence_error(command.verb, self.state), line)
        problem = _argument_problem(command)
        if problem is not None:
            return _error(problem, line)
        self._pending = command.verb
        return CommandReceived(command)


def _error(reply: Reply, line: bytes = b"") -> ProtocolErrorEvent[Reply]:
    return ProtocolErrorEvent(reply, reply.text, line)


def _sequence_error(verb: str, state: Pop3State) -> Reply:
    if verb == "PASS":
        return replies.SEND_USER_FIRST()
    if state is Pop3State.TRANSACTION:
        return replies.ALREADY_LOGGED_IN(verb=verb)
    return replies.NOT_BEFORE_LOGIN(verb=verb)


def _argument_problem(command: Command) -> Reply | None:
    """The -ERR reply for the command's arguments, or None when they are fine."""
    verb = command.verb
    if verb in ("USER", "PASS") and not command.argument:
        return replies.NEEDS_ARGUMENT(verb=verb)
    if verb == "APOP" and not _APOP_ARGUMENTS.fullmatch(command.argument):
        return replies.APOP_SYNTAX()
    if verb in NO_ARGUMENTS and command.argument:
        return replies.NO_ARGUMENTS(verb=verb)
    if verb not in NUMERIC_ARGUMENTS:
        return None
    low, high = NUMERIC_ARGUMENTS[verb]
    args = command.arguments
    if not low <= len(args) <= high:
        return replies.ARGUMENT_COUNT(verb=verb, low=low, high=high, count=len(args))
    if not all(is_ascii_number(a, MAX_NUMBER_DIGITS) for a in args):
        return replies.NOT_NUMBERS(verb=verb, digits=MAX_NUMBER_DIGITS)
    return None
