# The server side of an IMAP4rev1 connection (RFC 3501) as a sans-I/O state machine.
#
# Theory of operation
# -------------------
# Same shape as smtp_server.py and pop3_server.py: receive_data() buffers bytes,
# next_event() hands out one event at a time (or NEED_DATA), the application answers
# with Responses (imap_replies.py) through send(), which returns the bytes to write.
# The application may send any number of untagged responses; the event is answered by
# the tagged response carrying its tag (or, for a continuation, by `+`).
#
# An IMAP command may span several lines: a line ending in a literal {n} (synchronizing)
# or {n+} (RFC 7888 LITERAL+) is followed by n octets and the rest of the command. The
# machine assembles the whole command before parsing it (imap_grammar.py):
#   {n+}  the octets are read at once;
#   {n}   next_event() returns LiteralAwaited; the application sends `+` (the machine
#         then reads the octets) or a tagged NO/BAD, after which the client abandons the
#         command and the machine drops what it had of it.
# The command name is read from the first line, so a command unknown or not allowed
# in the state (or with a head that does not parse) is refused before the client sends
# its literal; {n+} literals of such a command are read through and the command
# refused once it is complete, so their octets are never taken for commands. A machine
# made with `observing=True` (the traffic analyzer replaying another server, which may
# know the command) announces the {n} literal of such a command as LiteralAwaited with
# the refusal it would send: the application answers as the observed server did, `+`
# (the literal is read through and the command refused once complete) or NO/BAD.
# Limits keep memory bounded: a line (MAX_LINE) and the text of a command outside its
# literals (MAX_COMMAND_TEXT); the literals of one command add up to at most
# max_append_size for APPEND and max_literal for any other command. A synchronizing
# literal over the limit is refused with a tagged NO [TOOBIG] before any `+`; a
# non-synchronizing one cannot be refused without losing the stream, so it gets an
# untagged BYE [TOOBIG] and the session ends (RFC 7888 section 4). The machine never
# allocates more than it will keep: it reads through the buffer, never ahead of it.
#
# Session states (NOT_AUTHENTICATED, AUTHENTICATED, SELECTED, LOGOUT) change only when
# a response is sent, by the tables of imap_states.py; so does the phase inside a
# command (LITERAL, AUTHENTICATE after a `+` challenge, IDLE after `+ idling` until
# DONE). STARTTLS answered OK throws away the bytes the client pipelined after it (kept
# in `discarded_before_tls`, never executed). Broken input never raises: it comes out
# as a ProtocolErrorEvent carrying the BAD/NO/BYE response to send.
from __future__ import annotations

from labctl.protocols import imap_replies as replies
from labctl.protocols.imap_events import (
    NEED_DATA,
    AuthenticateResponse,
    ConnectionClosed,
    Event,
    IdleDone,
    ImapCommandReceived,
    LiteralAwaited,
    ProtocolErrorEvent,
)
from labctl.protocols.imap_grammar import UID_COMMANDS, parse_command, parse_head, tag_of
from labctl.protocols.imap_replies import Response
from labctl.protocols.imap_states import (
    ALLOWED,
    CONTINUES,
    DISCARDS_PIPELINED,
    ENDS_SESSION,
    ERROR,
    GREETING,
    LITERAL,
    TRANSITIONS,
    ImapState,
    Phase,
)
from labctl.protocols.imap_tokens import CommandSyntaxError, announced_literal
from labctl.protocols.line_buffer import OVERLONG, LineBuffer

MAX_LINE = 64 * 1024  # one line of a command, CRLF included
MAX_COMMAND_TEXT = 64 * 1024  # all lines of one command, literals excluded
MAX_LITERAL = 64 * 1024  # all literals of one command other than APPEND
MAX_APPEND_SIZE = 10 * 1024 * 1024  # default: the server passes its message size limit


class LiteralBuffer(LineBuffer):
    """A LineBuffer that also hands out raw octets (a literal's data)."""

    def pop_bytes(self, count: int) -> bytes:
        """Up to `count` buffered octets."""
        data = bytes(self._data[:count])
        del self._data[:count]
        return data


class ServerConnection:
    """One IMAP server connection: bytes in, events out, responses in, bytes out."""

    def __init__(self, max_append_size: int = MAX_APPEND_SIZE, starttls: bool = False,
                 max_literal: int = MAX_LITERAL, observing: bool = False) -> None:
        self.state = ImapState.NOT_AUTHENTICATED
        self.phase = Phase.COMMAND
        self.max_append_size = max_append_size
        self.max_literal = max_literal
        self.observing = observing  # refused commands' {n} literals are LiteralAwaited
        self.starttls = starttls  # a certificate is configured: STARTTLS is accepted
        self.discarded_before_tls = b""  # bytes the client pipelined after STARTTLS
        self._buffer = LiteralBuffer()
        self._tag, self._pending = "", GREETING  # the command (or marker) in progress
        self._owed = False  # the application owes a response to the last event
        self._command = bytearray()  # the command assembled so far
        self._head: tuple[str, str, bool] | None = None  # tag, name, UID prefix
        self._head_error: Response | None = None  # the head did not parse: the BAD to send
        self._text_size = self._literal_size = self._literal_left = self._announced = 0

    @property
    def buffered_octets(self) -> int:
        """Octets received and held: unread bytes plus the command assembled so far."""
        return len(self._buffer) + len(self._command)

    def receive_data(self, data: bytes) -> None:
        """Feed bytes received from the client; b"" means the client closed."""
        self._buffer.feed(data)

    def send(self, response: Response) -> bytes:
        """Record a response, apply the state or phase change it makes, return its bytes."""
        if response.status in ENDS_SESSION:
            self.state, self._owed = ImapState.LOGOUT, False
        elif response.tag == replies.CONTINUATION:
            self._continue()
        elif response.tag == replies.UNTAGGED:
            self.state = TRANSITIONS.get((self.state, GREETING, response.status), self.state)
            if self._owed and self._pending == ERROR and self._tag == replies.UNTAGGED:
                self._owed = False  # the untagged BAD answering an error without a tag
        elif response.status:
            self._complete(response)
        return response.to_bytes()

    def _continue(self) -> None:
        phase = CONTINUES.get(self._pending)
        if not self._owed or phase is None:
            raise RuntimeError(f"no continuation is due (pending: {self._pending})")
        self.phase, self._owed = phase, False
        if self._pending == LITERAL:
            self._literal_left, self._pending = self._announced, self._head_name()

    def _complete(self, response: Response) -> None:
        if response.tag != self._tag or self._pending == GREETING:
            raise RuntimeError(f"tagged response {response.tag} answers no pending command")
        key = (self.state, self._pending, response.status)
        self.state = TRANSITIONS.get(key, self.state)
        self._reset_command()  # a refused literal: the client abandons the command
        if (self._pending, response.status) in DISCARDS_PIPELINED:  # once per connection
            self.discarded_before_tls += self._buffer.discard()
            self.starttls = False
        self._tag, self._pending, self._owed, self.phase = "", GREETING, False, Phase.COMMAND

    def next_event(self) -> Event:
        """The next event from the buffered bytes, or NEED_DATA."""
        if self._owed:
            raise RuntimeError(f"send() the response to {self._pending} before next_event()")
        if self.state is ImapState.LOGOUT:
            return ConnectionClosed()
        if self.phase in (Phase.IDLE, Phase.AUTHENTICATE):
            return self._next_line_event()
        return self._next_command_event()

    def _need_data(self) -> Event:
        if self._buffer.closed:
            self.state = ImapState.LOGOUT
            return ConnectionClosed()
        return NEED_DATA

    def _next_line_event(self) -> Event:
        line = self._buffer.pop_line(MAX_LINE)
        if line is None:
            return self._need_data()
        self._owed = True
        if line is OVERLONG:
            return self._error(replies.LINE_TOO_LONG.tagged(self._tag, limit=MAX_LINE))
        text = line.strip().decode("ascii", "replace")
        if self.phase is Phase.AUTHENTICATE:
            return AuthenticateResponse(self._tag, text)
        if text.upper() == "DONE":
            return IdleDone(self._tag)
        return self._error(replies.EXPECTED_DONE.tagged(self._tag, line=text[:40]), line)

    def _next_command_event(self) -> Event:
        while True:
            if self._literal_left:
                chunk = self._buffer.pop_bytes(self._literal_left)
                self._command += chunk
                self._literal_left -= len(chunk)
                if self._literal_left:
                    return self._need_data()
            self.phase = Phase.COMMAND
            line = self._buffer.pop_line(MAX_LINE)
            if line is None:
                return self._need_data()
            if line is OVERLONG:
                return self._refuse(replies.LINE_TOO_LONG, limit=MAX_LINE)
            self._command += line
            self._text_size += len(line)
            if self._text_size > MAX_COMMAND_TEXT:
                return self._refuse(replies.COMMAND_TOO_LONG, limit=MAX_COMMAND_TEXT)
            if self._head is None:
                try:
                    self._head = parse_head(line)
                except CommandSyntaxError as exc:  # answered once the command is read
                    tag = tag_of(line) or replies.UNTAGGED
                    self._head = (tag, "", False)
                    self._head_error = replies.SYNTAX_ERROR.tagged(tag, reason=exc.reason)
            announced = announced_literal(line)
            if announced is None:
                return self._finish_command()
            event = self._literal_event(*announced)
            if event is not None:
                return event

    def _literal_event(self, size: int, synchronizing: bool) -> Event | None:
        tag, name, uid = self._head or ("*", "", False)
        limit = self.max_append_size if name == "APPEND" and not uid else self.max_literal
        if synchronizing:
            problem = self._head_problem()
            if problem is not None and not (self.observing and self._head_error is None):
                return self._refuse_with(problem)
            if self._literal_size + size > limit:
                return self._refuse(replies.LITERAL_TOO_BIG, size=size, limit=limit, name=name)
            self._literal_size += size
            self._announced, self._owed = size, True
            self._tag, self._pending = tag, LITERAL
            return LiteralAwaited(tag, name, size, problem)
        if self._literal_size + size > limit:
            self._reset_command()
            self._tag, self._pending, self._owed = tag, ERROR, True
            return ProtocolErrorEvent(
                replies.NON_SYNC_LITERAL_TOO_BIG.untagged(size=size, limit=limit, name=name),
                                      f"literal {{{size}+}} over the {limit}-octet limit")
        self._literal_size += size
        self._literal_left = size
        return None

    def _finish_command(self) -> Event:
        data, head = bytes(self._command), self._head
        assert head is not None
        problem = self._head_problem()
        if problem is not None:
            return self._refuse_with(problem)
        self._reset_command()
        self._tag, self._owed = head[0], True
        try:
            command = parse_command(data)
        except CommandSyntaxError as exc:
            self._pending = ERROR
            template = replies.BAD_CHARSET if exc.status == "NO" else replies.SYNTAX_ERROR
            reply = template.tagged(head[0], reason=exc.reason, code=exc.code)
            return ProtocolErrorEvent(reply, exc.reason, data[:200])
        self._pending = command.name
        return ImapCommandReceived(command)

    def _head_name(self) -> str:
        return self._head[1] if self._head is not None else ERROR

    def _head_problem(self) -> Response | None:
        """The BAD response for a command unknown or not allowed in this state, or None."""
        if self._head_error is not None:
            return self._head_error
        tag, name, uid = self._head or ("*", "", False)
        offered = name != "STARTTLS" or self.starttls
        if name not in ALLOWED or not offered or (uid and name not in UID_COMMANDS):
            return replies.UNKNOWN_COMMAND.tagged(tag, name=f"UID {name}" if uid else name)
        if self.state not in ALLOWED[name]:
            return replies.NOT_IN_STATE.tagged(tag, name=name, state=self.state.value)
        return None

    def _refuse(self, template: replies.StatusTemplate, *, line: bytes = b"",
                **values: object) -> Event:
        tag = self._head[0] if self._head is not None else replies.UNTAGGED
        return self._refuse_with(template.tagged(tag, **values), line)

    def _refuse_with(self, reply: Response, line: bytes = b"") -> Event:
        self._reset_command()
        self._tag, self._pending, self._owed = reply.tag, ERROR, True
        return self._error(reply, line)

    def _error(self, reply: Response, line: bytes = b"") -> ProtocolErrorEvent[Response]:
        return ProtocolErrorEvent(reply, reply.text, line[:200])

    def _reset_command(self) -> None:
        self._command = bytearray()
        self._head, self._head_error = None, None
        self._text_size = self._literal_size = self._literal_left = self._announced = 0
