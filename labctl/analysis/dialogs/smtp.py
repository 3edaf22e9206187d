# The SMTP observer: a captured conversation replayed through the server's own machine.
#
# The client's bytes go into the sans-I/O ServerConnection the maillab servers run
# (labctl.protocols.smtp_server), so the same code decides what is a command, where DATA
# ends and what dot-stuffing hides. Each event is answered with the next reply the
# captured server sent (read with smtp_grammar.parse_reply_line) through observe_reply(),
# so the state advances as the observed server decided: 354 opens DATA, 220 to STARTTLS
# turns the rest into TLS. Steps are in protocol order, each reply pointing at the step
# it answers, however the commands were pipelined. BDAT chunks are taken by size. What
# the lecture calls wrong stays visible as a problem note: pipelining the server did
# not offer, bare LF line endings, bytes after STARTTLS, a conversation cut short.
# The grader's facts are one SmtpTransaction per MAIL FROM ... end of data.
from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from labctl.analysis.dialog import COMMAND, END, PAYLOAD, REPLY, Dialog, PipelinedCommand, Step
from labctl.analysis.dialogs.replay import Replay
from labctl.analysis.dialogs.smtp_facts import TransactionTracker
from labctl.analysis.dialogs.streams import bare_lf, quoted
from labctl.analysis.dialogs.tls import record_tls
from labctl.analysis.results import Segment
from labctl.model.topology import SMTP
from labctl.protocols import smtp
from labctl.protocols.errors import ProtocolError
from labctl.protocols.smtp_grammar import dot_unstuff, parse_reply_line
from labctl.protocols.smtp_states import MESSAGE_END, SmtpState

GREETING_CODES = (b"220", b"421", b"554")  # what a server may open with (RFC 5321 3.1)
NO_LIMIT = 2**62  # the observer keeps every message, whatever its size
# Commands that must end a pipelined group (RFC 2920 3.1), plus those that change the
# dialog's footing: nothing may follow them before their reply.
LAST_IN_GROUP = frozenset({"EHLO", "HELO", "DATA", "STARTTLS", "AUTH", "QUIT", "NOOP", "VRFY",
                           "EXPN"})


LABEL_KEYWORDS = {"MAIL": "FROM:", "RCPT": "TO:"}


def command_label(verb: str, argument: str) -> str:
    """MAIL and RCPT are labelled with their keyword ("MAIL FROM", "RCPT TO")."""
    keyword = LABEL_KEYWORDS.get(verb)
    if keyword and argument.upper().startswith(keyword):
        return f"{verb} {keyword[:-1]}"
    return verb


def observe(segments: Sequence[Segment], transport: str = "tcp") -> Dialog:
    """The SMTP dialog of a conversation's segments (see the module comment)."""
    return _SmtpObserver(segments).run()


class _SmtpObserver(Replay[smtp.ServerConnection]):
    protocol_name = SMTP
    must_wait = "RFC 2920"

    def __init__(self, segments: Sequence[Segment]) -> None:
        super().__init__(segments, smtp.ServerConnection(NO_LIMIT, smtputf8=True, starttls=True))
        self.facts = TransactionTracker(self.out.dialog.smtp)

    def run(self) -> Dialog:
        started = True
        if self.greeting_seen(self.server.data[:3] in GREETING_CODES):
            greeting = self.read_reply(None)
            started = greeting is not None
            if greeting is not None:
                self.machine.send(greeting)
        while started and self.machine.state is not SmtpState.CLOSED:
            in_data = self.machine.state is SmtpState.DATA
            start = self.feed.position
            event = self.next_event()
            if event is smtp.NEED_DATA or isinstance(event, smtp.ConnectionClosed):
                if in_data:
                    self.unfinished_message(start)
                break
            if not self.answer(event, start, in_data):
                break
        self.leftovers()
        self.facts.finish()
        return self.out.dialog

    def next_event(self) -> smtp.Event:
        return cast(smtp.Event, self.pull())

    def label_of(self, line: bytes) -> tuple[str, str]:
        command = smtp.parse_command(line)
        return command_label(command.verb, command.argument), command.argument

    def read_reply_step(self) -> bool:
        return self.read_reply(None) is not None

    def answer(self, event: smtp.Event, start: int, in_data: bool) -> bool:
        """Record the event's steps and its reply; False when the dialog cannot go on."""
        raw = self.client.data[start:self.feed.position]
        verb: str | None
        if in_data:
            index, verb, label = self.message(event, raw, start), MESSAGE_END, "."
        else:
            index, verb, label = self.command(event, raw, start)
        answered = self.bdat_chunk(raw) if verb == "BDAT" else verb
        reply = self.read_reply(index)
        if reply is None:
            self.out.problem(f"the capture ends before the server answered {label}")
            return False
        self.machine.observe_reply(reply, answered)
        self.facts.reply(answered, reply)
        if verb == "EHLO" and reply.is_positive:
            self.pipelining = any(line.upper().split()[:1] == ["PIPELINING"]
                                  for line in reply.lines)
        if verb == "STARTTLS" and reply.code == 220:
            self.tls()
            return False
        self.previous, self.previous_last = label, verb in LAST_IN_GROUP
        return True

    def command(self, event: smtp.Event, raw: bytes, start: int) -> tuple[int, str | None, str]:
        """One command line as a step; (its index, the verb it answers for, its label)."""
        if self.machine.state is SmtpState.AUTH or isinstance(event, smtp.AuthResponse):
            return self.sasl_response(raw, start), None, "the SASL response"
        try:
            command = smtp.parse_command(raw)
        except ProtocolError as error:
            return self.unreadable(raw, start, error), None, quoted(raw)
        label = command_label(command.verb, command.argument)
        self.check_line(raw, label, start)
        if isinstance(event, (smtp.MailFrom, smtp.RcptTo)):
            self.facts.command(command.verb, event.address)
        else:
            self.facts.command(command.verb, None, command.argument)
        step = Step(True, COMMAND, label, command.argument, self.client.time_at(start))
        return self.out.add(step), command.verb, label

    def check_line(self, raw: bytes, label: str, start: int) -> None:
        if bare_lf(raw):
            self.out.problem(f"client ended {label} with a bare LF, not CRLF (RFC 5321 2.3.8)")
            self.out.dialog.bare_lf.append(label)
        self.check_order(label, start)

    def message(self, event: smtp.Event, raw: bytes, start: int) -> int:
        """The message after 354 and its "." line as steps; the index of the "." step."""
        text = raw[:-3]  # the ".\r\n" line ends it
        if self.client.order_at(start) < self.reply_order:
            self.out.problem("client sent the message before the 354 reply to DATA")
            self.out.dialog.pipelined.append(PipelinedCommand(
                "message", "DATA", self.pipelining, False, self.client.time_at(start)))
        if bare_lf(text):
            self.out.problem("the message has lines ending in a bare LF, not CRLF")
            self.out.dialog.bare_lf.append("message")
        if isinstance(event, smtp.MessageReceived):
            message = event.data
        else:
            reason = event.reply.text if isinstance(event, smtp.ProtocolErrorEvent) else ""
            self.out.problem(f"the message breaks the SMTP limits: {reason}")
            message = dot_unstuff(text)
        self.facts.message(message)
        self.out.add(Step(True, PAYLOAD, "message", "", self.client.time_at(start), data=text))
        return self.out.add(Step(True, END, ".", "", self.client.time_at(start + len(text))))

    def bdat_chunk(self, line: bytes) -> str | None:
        """Take the chunk a BDAT line announces (RFC 3030); MESSAGE_END when it is the LAST."""
        words = line.split()
        if len(words) < 2 or not words[1].isdigit():
            self.out.problem("BDAT without a chunk size")
            return None
        start, size = self.feed.position, int(words[1])
        chunk = self.machine.take_bytes(size)
        while len(chunk) < size and self.feed.more():
            chunk += self.machine.take_bytes(size - len(chunk))
        if len(chunk) < size:
            self.out.problem(f"the BDAT chunk is cut short: {len(chunk)} of {size} octets")
        self.out.add(Step(True, PAYLOAD, "chunk", str(len(chunk)), self.client.time_at(start),
                          data=chunk))
        last = len(words) > 2 and words[2].upper() == b"LAST"
        self.facts.chunk(chunk, last)
        return MESSAGE_END if last else None

    def unfinished_message(self, start: int) -> None:
        text = self.client.data[start:]
        self.out.problem("the message after 354 never ended with a '.' line")
        if bare_lf(text):
            self.out.problem("the message has lines ending in a bare LF, not CRLF")
            self.out.dialog.bare_lf.append("message")
        self.out.add(Step(True, PAYLOAD, "message", "", self.client.time_at(start), data=text))
        self.facts.message(dot_unstuff(text))
        self.client_done = True

    def read_reply(self, answers: int | None) -> smtp.Reply | None:
        """The server's next complete reply as a step; None when the capture has no more."""
        code: int | None = None
        lines: list[str] = []
        first = 0
        while True:
            read = self.server.read_line()
            if read is None:
                if code is not None:
                    self.out.problem(f"reply {code} has no last line")
                return None
            raw, offset = read
            try:
                line_code, is_last, text = parse_reply_line(raw)
            except ProtocolError as error:
                self.out.problem(f"server line not an SMTP reply: {error}")
                continue
            if not raw.endswith(b"\r\n"):  # read_line cut it after its only LF
                self.out.problem("server ended a reply line with a bare LF, not CRLF")
            if code is None:
                code, first = line_code, offset
            elif line_code != code:
                self.out.problem(f"multi-line reply changes its code from {code} to {line_code}")
            lines.append(text)
            if is_last:
                break
        self.reply_order = self.server.order_at(self.server.pos - 1)
        reply = smtp.Reply(code, tuple(lines))  # at least the last line
        self.out.add(Step(False, REPLY, str(code), reply.text, self.server.time_at(first),
                          code=str(code), answers=answers))
        return reply

    def tls(self) -> None:
        discarded = self.machine.discarded_before_tls
        if discarded:
            self.out.problem(f"client sent {len(discarded)} bytes after STARTTLS before TLS "
                             "began (a server must ignore them)")
        record_tls(self.out, self.client, self.feed.fed, self.server)
        self.client_done = True
