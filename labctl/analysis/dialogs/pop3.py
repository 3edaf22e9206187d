# The POP3 observer: a captured conversation replayed through the POP3 server's machine.
#
# The client's bytes go into labctl.protocols.pop3_server.ServerConnection, the one the
# maillab POP3 server runs; each command is answered with the captured server's next
# status line (pop3_grammar.parse_status_line) through observe_reply(), so the RFC 1939
# states advance as the observed server decided: PASS +OK enters TRANSACTION, QUIT +OK
# there enters UPDATE (Dialog.pop3_reached_update), STLS +OK turns the rest into TLS.
# Whether a +OK carries a multi-line body is the grammar's rule (pop3_grammar.has_body);
# the body is one PAYLOAD step as on the wire and its "." an END step. A SASL exchange
# (AUTH, "+ " continuations, RFC 5034) is followed too. Facts: one Pop3Action per
# RETR, TOP, DELE, RSET, LIST, UIDL or STAT; and each command the client sent before
# the reply to the previous one (Dialog.pipelined), a problem unless the server's CAPA
# reply offered PIPELINING (RFC 2449 6.6).
from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from labctl.analysis.dialog import COMMAND, END, PAYLOAD, REPLY, Dialog, Pop3Action, Step
from labctl.analysis.dialogs.replay import Replay
from labctl.analysis.dialogs.streams import bare_lf, quoted
from labctl.analysis.dialogs.tls import record_tls
from labctl.analysis.results import Segment
from labctl.model.topology import POP3
from labctl.protocols import pop3
from labctl.protocols.errors import ProtocolError
from labctl.protocols.pop3_grammar import has_body
from labctl.protocols.smtp_grammar import end_of_data

ACTIONS = frozenset({"RETR", "TOP", "DELE", "RSET", "LIST", "UIDL", "STAT"})
MUST_WAIT = frozenset({"STLS", "AUTH"})  # what follows depends on their reply
SASL_CHALLENGE = "+"  # the label of a SASL challenge line ("+ base64")
ENDED = (pop3.Pop3State.UPDATE, pop3.Pop3State.CLOSED)


def observe(segments: Sequence[Segment], transport: str = "tcp") -> Dialog:
    """The POP3 dialog of a conversation's segments (see the module comment)."""
    return _Pop3Observer(segments).run()


class _Pop3Observer(Replay[pop3.ServerConnection]):
    protocol_name = POP3
    not_offered = "the server did not offer PIPELINING in its CAPA reply (RFC 2449)"
    must_wait = "the session changes with its reply"

    def __init__(self, segments: Sequence[Segment]) -> None:
        super().__init__(segments, pop3.ServerConnection(stls=True))
        self.in_sasl = False  # the last reply was a "+ " continuation of AUTH

    def run(self) -> Dialog:
        started = True
        if self.greeting_seen(False):
            greeting = self.read_status(None)
            started = greeting is not None
            if greeting is not None:
                self.machine.send(pop3.Reply(greeting[1] != "-ERR", greeting[2]))
        while started and self.machine.state not in ENDED:
            start = self.feed.position
            event = cast(pop3.Event, self.pull())
            if not isinstance(event, (pop3.CommandReceived, pop3.ProtocolErrorEvent)):
                break
            if not self.answer(self.client.data[start:self.feed.position], start):
                break
        self.out.dialog.pop3_reached_update = self.machine.state is pop3.Pop3State.UPDATE
        self.leftovers()
        return self.out.dialog

    def answer(self, raw: bytes, start: int) -> bool:
        """Record one client line and its reply; False when the dialog cannot go on."""
        if self.in_sasl:
            command: pop3.Command | None = pop3.Command("AUTH")
            index = self.sasl_response(raw, start)
        else:
            command, index = self.command(raw, start)
        label = command.verb if command is not None else quoted(raw)
        status = self.read_status(index)
        if status is None:
            self.out.problem(f"the capture ends before the server answered {label}")
            return False
        _, code, text = status
        self.in_sasl = code == SASL_CHALLENGE and command is not None and command.verb == "AUTH"
        ok = code == "+OK"
        verb = None if command is None or self.in_sasl else command.verb
        self.machine.observe_reply(pop3.Reply(ok or self.in_sasl, text), verb)
        if command is None or self.in_sasl:
            return True
        self.previous, self.previous_last = command.verb, command.verb in MUST_WAIT
        if command.verb in ACTIONS:
            self.out.dialog.pop3.append(Pop3Action(command.verb, command.argument, ok))
        if command.verb == "STLS" and ok:
            record_tls(self.out, self.client, self.feed.fed, self.server)
            self.client_done = True
            return False
        return not has_body(command, ok) or self.body(command.verb)

    def command(self, raw: bytes, start: int) -> tuple[pop3.Command | None, int]:
        try:
            command = pop3.parse_command(raw)
        except ProtocolError as error:
            return None, self.unreadable(raw, start, error)
        if bare_lf(raw):
            self.out.problem(f"client ended {command.verb} with a bare LF, not CRLF")
        self.check_order(command.verb, start)
        step = Step(True, COMMAND, command.verb, command.argument, self.client.time_at(start))
        return command, self.out.add(step)

    def body(self, verb: str) -> bool:
        """The multi-line body after +OK as a PAYLOAD step and its "." as an END step."""
        start = self.server.pos
        end = end_of_data(self.server.data, start)
        label = "message" if verb in ("RETR", "TOP") else "list"
        text = self.server.data[start:end] if end >= 0 else self.server.data[start:]
        self.out.add(Step(False, PAYLOAD, label, "", self.server.time_at(start), data=text))
        if end < 0:
            self.out.problem(f"the multi-line reply to {verb} never ended with a '.' line")
            self.server.pos = len(self.server.data)
            return False
        self.out.add(Step(False, END, ".", "", self.server.time_at(end)))
        self.server.pos = end + 3
        self.reply_order = self.server.order_at(end + 2)
        if verb == "CAPA":
            self.pipelining = any(line.split()[:1] == [b"PIPELINING"]
                                  for line in text.upper().splitlines())
        return True

    def read_status(self, answers: int | None) -> tuple[int, str, str] | None:
        """The server's next status line as a step: (index, "+OK"/"-ERR"/"+", text)."""
        while True:
            read = self.server.read_line()
            if read is None:
                return None
            raw, offset = read
            if raw.rstrip(b"\r\n") == b"+" or raw.startswith(b"+ "):
                code, text = SASL_CHALLENGE, raw[2:].strip().decode("ascii", "replace")
                break
            try:
                ok, text = pop3.parse_status_line(raw)
            except ProtocolError as error:
                self.out.problem(f"server line not a POP3 status line: {error}")
                continue
            code = "+OK" if ok else "-ERR"
            break
        self.reply_order = self.server.order_at(offset + len(raw) - 1)
        index = self.out.add(Step(False, REPLY, code, text, self.server.time_at(offset),
                                  code=code, answers=answers))
        return index, code, text

    def label_of(self, line: bytes) -> tuple[str, str]:
        command = pop3.parse_command(line)
        return command.verb, command.argument

    def read_reply_step(self) -> bool:
        return self.read_status(None) is not None
