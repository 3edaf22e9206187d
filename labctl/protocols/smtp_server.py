# The server side of an SMTP connection as a sans-I/O state machine.
#
# Theory of operation
# -------------------
# The I/O layer feeds received bytes to receive_data() and pulls events with
# next_event() until it returns NEED_DATA. For every event except NEED_DATA and
# ConnectionClosed the application decides on a Reply and passes it to send(),
# which returns the bytes to write. Parsing is lazy: bytes are only interpreted
# when next_event() is called, so pipelined commands that follow DATA are read as
# message text only once the application has answered DATA with 354.
#
# States change when a reply is sent, never when a command arrives: the command
# is remembered as "pending" and send() looks up (state, command) in TRANSITIONS
# for a positive reply (2xx/3xx). A command that is not allowed in the current
# state (ALLOWED) never reaches the application as a command: it comes out as a
# ProtocolErrorEvent carrying a 503 reply. Malformed lines become 500/501 error
# events, an over-long message a 552 event, so broken input never raises.
from __future__ import annotations

from enum import Enum

from labctl.protocols import smtp_replies as replies
from labctl.protocols.errors import ProtocolError
from labctl.protocols.line_buffer import OVERLONG, LineBuffer
from labctl.protocols.smtp_envelope import EnvelopeError, Offers, mail_from, rcpt_to
from labctl.protocols.smtp_events import (
    NEED_DATA,
    AuthRequested,
    AuthResponse,
    CommandReceived,
    ConnectionClosed,
    Event,
    Hello,
    MessageReceived,
    ProtocolErrorEvent,
)
from labctl.protocols.smtp_grammar import (
    MAX_AUTH_LINE,
    MAX_TEXT_LINE,
    Command,
    Reply,
    parse_command,
)
from labctl.protocols.smtp_replies import ReplyTemplate


class SmtpState(Enum):
    GREETING = "greeting"  # connected, no EHLO/HELO yet
    READY = "ready"  # after EHLO/HELO, no mail transaction
    MAIL = "mail"  # MAIL FROM accepted, no recipient yet
    RCPT = "rcpt"  # at least one RCPT TO accepted
    DATA = "data"  # reading the message text after 354
    AUTH = "auth"  # inside a SASL exchange after a 334
    CLOSED = "closed"  # after QUIT/221 or 421


G, R, M, T = SmtpState.GREETING, SmtpState.READY, SmtpState.MAIL, SmtpState.RCPT
COMMAND_STATES = frozenset({G, R, M, T})
ANYTIME = frozenset({"NOOP", "RSET", "HELP", "VRFY", "EXPN", "QUIT"})
NOT_IMPLEMENTED = frozenset({"STARTTLS", "BDAT", "TURN", "ETRN", "ATRN", "SEND", "SOML", "SAML"})
ALLOWED: dict[str, frozenset[SmtpState]] = {
    "EHLO": COMMAND_STATES, "HELO": COMMAND_STATES,
    "MAIL": frozenset({R}), "RCPT": frozenset({M, T}), "DATA": frozenset({T}),
    "AUTH": frozenset({R}),
    **{verb: COMMAND_STATES for verb in ANYTIME},
}
SEQUENCE_ERRORS: dict[tuple[str, SmtpState], ReplyTemplate] = {
    ("MAIL", G): replies.SEND_HELLO_FIRST, ("AUTH", G): replies.SEND_EHLO_FIRST,
    ("MAIL", M): replies.NESTED_MAIL, ("MAIL", T): replies.NESTED_MAIL,
    ("DATA", M): replies.NEED_RCPT,
    ("AUTH", M): replies.AUTH_IN_TRANSACTION, ("AUTH", T): replies.AUTH_IN_TRANSACTION,
}
# Next state after a positive (2xx/3xx) reply to a command sent in a state.
TRANSITIONS: dict[tuple[SmtpState, str], SmtpState] = {
    **{(s, verb): R for s in COMMAND_STATES for verb in ("EHLO", "HELO")},
    **{(s, "RSET"): R for s in (R, M, T)},
    **{(s, "QUIT"): SmtpState.CLOSED for s in COMMAND_STATES},
    (R, "MAIL"): M, (M, "RCPT"): T, (T, "RCPT"): T, (T, "DATA"): SmtpState.DATA,
    (R, "AUTH"): R, (SmtpState.AUTH, "AUTH-RESPONSE"): R,
}
MESSAGE_END = "MESSAGE"  # pending marker: the reply to a complete DATA body


class ServerConnection:
    """One SMTP server connection: bytes in, events out, replies in, bytes out."""

    def __init__(self, max_message_size: int = 10 * 1024 * 1024, smtputf8: bool = False) -> None:
        self.state = SmtpState.GREETING
        self.max_message_size = max_message_size
        self.offers = Offers(max_message_size, smtputf8)
        self._smtputf8_transaction = False  # the accepted MAIL FROM carried SMTPUTF8
        self._buffer = LineBuffer()
        self._pending: str | None = None  # the command (or MESSAGE) awaiting its reply
        self._body: list[bytes] = []
        self._body_size = 0
        self._body_error: Reply | None = None

    def receive_data(self, data: bytes) -> None:
        """Feed bytes received from the client; b"" means the client closed."""
        self._buffer.feed(data)

    def send(self, reply: Reply) -> bytes:
        """Record the reply to the pending event, apply the state change, return its bytes."""
        pending, self._pending = self._pending, None
        if reply.code == 421:
            self.state = SmtpState.CLOSED
        elif reply.code == 334 and pending in ("AUTH", "AUTH-RESPONSE"):
            self.state = SmtpState.AUTH
        elif pending == MESSAGE_END or self.state is SmtpState.AUTH:
            self.state = SmtpState.READY
        elif pending is not None and reply.is_positive:
            self.state = TRANSITIONS.get((self.state, pending), self.state)
        return reply.to_bytes()

    def next_event(self) -> Event:
        """The next event from the buffered bytes, or NEED_DATA."""
        if self._pending is not None:
            raise RuntimeError(f"send() the reply to {self._pending} before next_event()")
        if self.state is SmtpState.CLOSED:
            return ConnectionClosed()
        if self.state is SmtpState.DATA:
            event = self._next_message_event()
        elif self.state is SmtpState.AUTH:
            event = self._next_auth_event()
        else:
            event = self._next_command_event()
        if event is NEED_DATA and self._buffer.closed:
            self.state = SmtpState.CLOSED
            return ConnectionClosed()
        return event

    def _next_command_event(self) -> Event:
        line = self._buffer.pop_line(MAX_AUTH_LINE)
        if line is None:
            return NEED_DATA
        if line is OVERLONG:
            return self._error(replies.LINE_TOO_LONG(), "command line too long", b"")
        try:
            command = parse_command(line)
        except ProtocolError as exc:
            template = replies.LINE_TOO_LONG if "longer" in exc.reason else (
                replies.SYNTAX_UNRECOGNIZED)
            return self._error(template(), exc.reason, line)
        verb = command.verb
        if verb in NOT_IMPLEMENTED:
            return self._error(replies.NOT_IMPLEMENTED(verb=verb), "not implemented", line)
        if verb not in ALLOWED:
            return self._error(replies.COMMAND_UNRECOGNIZED(), f"unknown verb {verb}", line)
        if self.state not in ALLOWED[verb]:
            template = SEQUENCE_ERRORS.get((verb, self.state), replies.BAD_SEQUENCE)
            reason = f"{verb} not allowed in state {self.state.value}"
            return self._error(template(), reason, line)
        try:
            event = self._command_event(command)
        except EnvelopeError as exc:
            return self._error(exc.reply, exc.reason, line)
        except ProtocolError as exc:
            return self._error(replies.SYNTAX_ERROR(reason=exc.reason), exc.reason, line)
        self._pending = verb
        return event

    def _command_event(self, command: Command) -> Event:
        verb, argument = command.verb, command.argument
        if verb in ("EHLO", "HELO"):
            if not argument:
                raise ProtocolError(f"{verb} needs a domain or address literal")
            return Hello(argument.split()[0], extended=verb == "EHLO")
        if verb == "MAIL":
            event = mail_from(argument, self.offers)
            self._smtputf8_transaction = "SMTPUTF8" in event.parameters
            return event
        if verb == "RCPT":
            return rcpt_to(argument, self.offers, self._smtputf8_transaction)
        if verb == "AUTH":
            parts = argument.split()
            if not parts or len(parts) > 2:
                raise ProtocolError("AUTH needs a mechanism and at most one initial response")
            return AuthRequested(parts[0].upper(), parts[1] if len(parts) == 2 else None)
        return CommandReceived(command)

    def _next_auth_event(self) -> Event:
        line = self._buffer.pop_line(MAX_AUTH_LINE)
        if line is None:
            return NEED_DATA
        self._pending = "AUTH-RESPONSE"
        if line is OVERLONG:
            return ProtocolErrorEvent(replies.AUTH_LINE_TOO_LONG(), "AUTH line too long")
        return AuthResponse(line.strip().decode("ascii", "replace"))

    def _next_message_event(self) -> Event:
        while True:
            line = self._buffer.pop_line(MAX_TEXT_LINE, crlf_only=True)
            if line is None:
                return NEED_DATA
            if line == b".\r\n":
                return self._finish_message()
            if line is OVERLONG or len(line) > MAX_TEXT_LINE + 1:  # +1: a stuffed dot
                self._body_error = replies.DATA_LINE_TOO_LONG()
                continue
            if line.startswith(b"."):
                line = line[1:]
            self._body_size += len(line)
            if self._body_size > self.max_message_size:
                self._body_error = replies.MESSAGE_TOO_BIG()
            if self._body_error is None:
                self._body.append(line)
            else:
                self._body.clear()

    def _finish_message(self) -> Event:
        data, error = b"".join(self._body), self._body_error
        self._body, self._body_size, self._body_error = [], 0, None
        self._pending = MESSAGE_END
        if error is not None:
            return ProtocolErrorEvent(error, "message rejected while reading DATA")
        return MessageReceived(data)

    def _error(self, reply: Reply, reason: str, line: bytes) -> ProtocolErrorEvent:
        self._pending = "ERROR"
        return ProtocolErrorEvent(reply, reason, line)
