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
# States change when a reply is sent, never when a command arrives: send() looks
# up the state, the pending command and the reply class in TRANSITIONS (the
# tables live in smtp_states.py). A command that is not allowed in the current
# state (ALLOWED) never reaches the application as a command: it comes out as a
# ProtocolErrorEvent carrying a 503 reply. Malformed lines become 500/501 error
# events (MAIL/RCPT paths are checked in smtp_envelope.py against what the server
# offers: SMTPUTF8, STARTTLS, the size limit), an over-long message a 552 event,
# so broken input never raises. Inside DATA only <CRLF>.<CRLF> ends the message; the
# text is taken a buffer at a time (LineBuffer.pop_dot_text), never line by line.
# STARTTLS (when offered) answered with 220 sends the machine back to GREETING
# (the client must EHLO again over TLS) and throws away the bytes the client sent
# after the STARTTLS line before TLS began: they are kept in `discarded_before_tls`
# for the log, never executed (the CVE-2011-0411 command injection).
from __future__ import annotations

from dataclasses import replace

from labctl.protocols import smtp_replies as replies
from labctl.protocols.errors import ProtocolError
from labctl.protocols.line_buffer import OVERLONG, LineBuffer
from labctl.protocols.shared_events import Command
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
    Reply,
    dot_unstuff,
    has_line_longer_than,
    parse_command,
)
from labctl.protocols.smtp_states import (
    ALLOWED,
    AUTH_RESPONSE,
    DISCARDS_PIPELINED,
    ERROR,
    MESSAGE_END,
    NOT_IMPLEMENTED,
    NOTHING,
    OBSERVED,
    SEQUENCE_ERRORS,
    TRANSITIONS,
    SmtpState,
    reply_class,
)


class ServerConnection:
    """One SMTP server connection: bytes in, events out, replies in, bytes out."""

    def __init__(self, max_message_size: int = 10 * 1024 * 1024, smtputf8: bool = False,
                 starttls: bool = False) -> None:
        self.state = SmtpState.GREETING
        self.max_message_size = max_message_size
        self.offers = Offers(max_message_size, smtputf8, starttls)
        self._smtputf8_transaction = False  # the accepted MAIL FROM carried SMTPUTF8
        self._buffer = LineBuffer()
        self._pending: str | None = None  # the command (or a marker) awaiting its reply
        self.discarded_before_tls = b""  # bytes the client pipelined after STARTTLS
        self._body: list[bytes] = []
        self._body_size = 0
        self._body_error: Reply | None = None
        self._line_start = True  # DATA: the buffer starts at the start of a message line

    def receive_data(self, data: bytes) -> None:
        """Feed bytes received from the client; b"" means the client closed."""
        self._buffer.feed(data)

    def send(self, reply: Reply) -> bytes:
        """Record the reply to the pending event, apply the state change, return its bytes."""
        self._answer(reply)
        return reply.to_bytes()

    def _answer(self, reply: Reply) -> None:
        """Apply the state change of `reply` to the pending event."""
        pending, self._pending = self._pending or NOTHING, None
        kind = reply_class(reply.code)
        self.state = TRANSITIONS.get((self.state, pending, kind), self.state)
        if (pending, kind) in DISCARDS_PIPELINED:  # TLS starts: once per connection
            self.discarded_before_tls += self._buffer.discard()
            self.offers = replace(self.offers, starttls=False)

    def observe_reply(self, reply: Reply, answered: str | None = None) -> None:
        """Apply a reply another server chose (the analyzer replays captured dialogs).

        When this machine refused a command (a ProtocolErrorEvent) that the observed server
        answered anyway, `answered` names it (a verb, or MESSAGE_END for a BDAT LAST chunk)
        and the state follows the observed server's reply (smtp_states.OBSERVED).
        """
        refused = self._pending == ERROR and answered is not None
        if refused:
            self._pending = answered
        self._answer(reply)  # the observed server sent it: no bytes to make
        if refused:
            self.state = OBSERVED.get((answered or "", reply_class(reply.code)), self.state)

    @property
    def unread(self) -> int:
        """Bytes received but not yet handed out in an event."""
        return len(self._buffer)

    def take_bytes(self, count: int) -> bytes:
        """Up to `count` unread bytes as they are (the content of an observed BDAT chunk)."""
        return self._buffer.pop_bytes(count)

    def next_event(self) -> Event:
        """The next event from the buffered bytes, or NEED_DATA."""
        if self._pending is not None:
            raise RuntimeError(f"send() the reply to {self._pending} before next_event()")
        if self.state is SmtpState.CLOSED:
            return ConnectionClosed()
        if not len(self._buffer) and not self._buffer.closed:  # nothing to read, in any state
            return NEED_DATA
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
        if verb in NOT_IMPLEMENTED or (verb == "STARTTLS" and not self.offers.starttls):
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
        if verb == "STARTTLS" and argument:
            raise ProtocolError("STARTTLS takes no argument")
        return CommandReceived(command)

    def _next_auth_event(self) -> Event:
        line = self._buffer.pop_line(MAX_AUTH_LINE)
        if line is None:
            return NEED_DATA
        self._pending = AUTH_RESPONSE
        if line is OVERLONG:
            return ProtocolErrorEvent(replies.AUTH_LINE_TOO_LONG(), "AUTH line too long")
        return AuthResponse(line.strip().decode("ascii", "replace"))

    def _next_message_event(self) -> Event:
        text, ended = self._buffer.pop_dot_text(self._line_start)
        if text:
            self._take_text(text)
        if ended:
            self._line_start = True
            return self._finish_message()
        if len(self._buffer) > MAX_TEXT_LINE + 1:  # a line with no end in sight: drop it
            self._body_error = replies.DATA_LINE_TOO_LONG()
            self._buffer.pop_bytes(len(self._buffer) - 1)  # keep a CR that may start CRLF
            self._line_start = False
        return NEED_DATA

    def _take_text(self, text: bytes) -> None:
        """Complete lines of the message (dot-stuffed, CRLF-ended) into the body."""
        if not self._line_start:  # the first line ends one that was too long
            text = text[text.find(b"\r\n") + 2:]
            self._line_start = True
        if has_line_longer_than(text, MAX_TEXT_LINE - 1):  # +CRLF > 1000+1 dot
            self._body_error = replies.DATA_LINE_TOO_LONG()
        data = dot_unstuff(text)
        self._body_size += len(data)
        if self._body_size > self.max_message_size:
            self._body_error = replies.MESSAGE_TOO_BIG()
        if self._body_error is None:
            self._body.append(data)
        else:
            self._body.clear()

    def _finish_message(self) -> Event:
        data, error = b"".join(self._body), self._body_error
        self._body, self._body_size, self._body_error = [], 0, None
        self._pending = MESSAGE_END
        if error is not None:
            return ProtocolErrorEvent(error, "message rejected while reading DATA")
        return MessageReceived(data)

    def _error(self, reply: Reply, reason: str, line: bytes) -> ProtocolErrorEvent[Reply]:
        self._pending = ERROR
        return ProtocolErrorEvent(reply, reason, line)
