# The IMAP observer: a captured IMAP conversation replayed into a Dialog.
#
# Theory of operation
# -------------------
# The client's bytes go through the server machine maillab's IMAP server runs
# (labctl.protocols.imap_server.ServerConnection): the same framing (lines, literals
# {n} and {n+}, AUTHENTICATE lines, IDLE until DONE, STARTTLS) and the same grammar.
# The machine waits for a response to each event before it reads on; the observer gives
# it the responses the real server sent, read from the server's bytes
# (_imap_responses.py): a `+` opens what the machine waits for (literal data, a SASL
# line, IDLE), the tagged response closes the command. So the client's stream is framed
# exactly as the server that answered it framed it, and pipelined commands come out one
# by one, each before the response that answers it.
#
# Steps: each command (label "SELECT", "UID FETCH"; text the command as sent), APPEND's
# message (PAYLOAD "message"), every server response (REPLY, label "+", the untagged
# keyword "EXISTS"/"FETCH"/"OK", or the tagged status; tagged ones answer their command
# by tag), FETCH literals (PAYLOAD labelled by the item, "BODY[1]"), IDLE's DONE and SASL
# responses (CONTINUATION steps), TLS after STARTTLS is accepted. One ImapAction per
# command with its tagged result.
# A command the grammar refuses is still a step when its head (tag, name) reads; it is a
# problem unless the server accepted it (an extension such as ID or ENABLE). The machine
# runs in its observing mode, so such a command's {n} literal waits for the captured
# server as any other: after `+` its octets are the command's, after NO/BAD the client
# dropped the command. Bytes that do not read at all are UNREADABLE. Nothing raises.
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from labctl.analysis.dialog import (
    CONTINUATION,
    IDLE_DONE,
    REPLY,
    SASL_RESPONSE,
    TLS,
    Dialog,
    Step,
)
from labctl.analysis.dialogs._imap_commands import (
    StepRecorder,
    action_arguments,
    announced_part,
    command_label,
    command_label_of,
    command_text,
    head_of,
    message_start,
    raw_arguments,
)
from labctl.analysis.dialogs._imap_responses import (
    CONTINUATION_REQUEST,
    TAGGED,
    UNTAGGED,
    ResponseFramer,
    ServerResponse,
)
from labctl.analysis.identify import is_tls_hello
from labctl.analysis.results import Segment
from labctl.protocols.imap_commands import Append
from labctl.protocols.imap_events import (
    AuthenticateResponse,
    ConnectionClosed,
    IdleDone,
    ImapCommandReceived,
    LiteralAwaited,
    NeedData,
    ProtocolErrorEvent,
)
from labctl.protocols.imap_replies import Response, continuation
from labctl.protocols.imap_server import ServerConnection
from labctl.protocols.imap_states import CONTINUES, LITERAL, ImapState

NO_LIMIT = 1 << 40  # the observer reads any literal the real server accepted
GREETINGS = frozenset({"OK", "PREAUTH", "BYE"})


def observe(segments: Sequence[Segment], transport: str = "tcp") -> Dialog:
    """The dialog of one IMAP conversation (see the module comment)."""
    observer = _ImapObserver()
    for segment in segments:
        if observer.encrypted:
            break
        if not segment.data:  # (the machine takes b"" for the close)
            continue
        if segment.from_client:
            observer.client_bytes(segment)
        else:
            observer.server_bytes(segment)
    return observer.finish()


class _ImapObserver(StepRecorder):
    def __init__(self) -> None:
        super().__init__()
        self.machine = ServerConnection(max_append_size=NO_LIMIT, starttls=True,
                                        max_literal=NO_LIMIT, observing=True)
        self.client_data = bytearray()  # client bytes from the command being read on
        self.responses = ResponseFramer()
        self.pending: tuple[str, str] | None = None  # (tag, what) the machine waits for
        self.encrypted = self.greeted = False

    # -- the client's side: the server machine frames and parses it
    def client_bytes(self, segment: Segment) -> None:
        first = not self.client.received and not self.server.received
        if first and is_tls_hello(segment.data, 1):
            return self.turn_to_tls(segment.timestamp)
        if not self.greeted:
            self.missed_greeting("the client speaks first")
        self.client.add(len(segment.data), segment.timestamp)
        self.client_data += segment.data
        self.machine.receive_data(segment.data)
        self.read_commands()

    def consumed(self) -> int:
        return self.client.received - self.machine.buffered_octets

    def read_commands(self) -> None:
        while self.pending is None and not self.encrypted:
            event = self.machine.next_event()
            if isinstance(event, NeedData | ConnectionClosed):
                return
            raw = bytes(self.client_data[:self.consumed() - self.command_start])
            if isinstance(event, ImapCommandReceived):
                command = event.command
                text = command_text(raw, command)
                self.record_command(command.tag, command_label(command), text,
                                    action_arguments(command, text))
                if isinstance(command.arguments, Append):
                    message = command.arguments.message
                    self.add_payload(True, "message", message,
                                     self.command_start + message_start(raw, message))
                self.pending = (command.tag, command.name)
            elif isinstance(event, LiteralAwaited):
                if self.open_step is None:
                    raw = announced_part(self.client_data, event.size)
                    text = command_text(raw)
                    label = command_label_of(raw) or event.name
                    self.record_command(event.tag, label, text, raw_arguments(text))
                    self.open_step = len(self.dialog.steps) - 1
                if event.refusal is not None:  # wait: the server may know the command
                    self.doubt(event.tag, self.dialog.steps[self.open_step].label,
                               event.refusal.text)
                self.pending = (event.tag, LITERAL)
                continue
            elif isinstance(event, AuthenticateResponse | IdleDone):
                idle = isinstance(event, IdleDone)
                self.add_step(True, CONTINUATION, IDLE_DONE if idle else SASL_RESPONSE,
                              command_text(raw), self.command_start)
                self.pending = (event.tag, "IDLE" if idle else "AUTHENTICATE")
            else:
                self.refused(event, raw)
            self.next_command()

    def next_command(self) -> None:
        """The command being read is over: the next one starts where the machine is."""
        del self.client_data[:self.consumed() - self.command_start]
        self.command_start, self.open_step = self.consumed(), None

    def refused(self, event: ProtocolErrorEvent[Response], raw: bytes) -> None:
        """A command the grammar refuses: a step if its head reads, and a problem note."""
        head = head_of(raw)
        if head is None or self.machine.state is ImapState.LOGOUT:
            self.client.unreadable(self.dialog, self.command_start,
                                   f"not an IMAP command: {event.reason}", raw)
        else:
            text = command_text(raw)
            self.record_command(head[0], head[1], text, raw_arguments(text))
            self.doubt(head[0], head[1], event.reason)
        self.machine.send(event.reply)  # what the machine expects; the real answer follows

    # -- the server's side: responses steer the machine
    def server_bytes(self, segment: Segment) -> None:
        self.server.add(len(segment.data), segment.timestamp)
        self.responses.feed(segment.data)
        while not self.encrypted and (response := self.responses.next_response()) is not None:
            self.response(response)
            self.read_commands()

    def response(self, response: ServerResponse) -> None:
        if not self.greeted:
            if response.kind == UNTAGGED and response.status in GREETINGS:
                self.greeted = True
            else:
                self.missed_greeting("the server's first response is no greeting")
        if not response.kind:
            self.server.unreadable(self.dialog, response.offset, "not an IMAP response",
                                   response.text.encode())
            return
        answers = None
        if response.kind == TAGGED:
            answers = self.tagged_result(response)
        elif response.kind == CONTINUATION_REQUEST and self.pending is not None:
            answers = self.unanswered.get(self.pending[0], (None, 0))[0]
        self.add_step(False, REPLY, response.label, response.text, response.offset,
                      code=response.status or None, answers=answers)
        for item, data in response.payloads:
            self.add_payload(False, item, data, response.offset)
        if response.kind == CONTINUATION_REQUEST:
            self.continuation(response)
        elif response.kind == UNTAGGED and response.status in ("PREAUTH", "BYE"):
            self.machine.send(Response("*", response.status, response.code, response.text))
            if response.status == "BYE":
                self.pending = None
        elif response.kind == TAGGED and self.pending and self.pending[0] == response.tag:
            self.machine.send(Response(response.tag, response.status, response.code))
            if self.pending == (response.tag, "STARTTLS") and response.status == "OK":
                self.turn_to_tls(self.server.time_at(response.offset))
            if self.pending[1] == LITERAL:  # the server refused the literal: command dropped
                self.next_command()
            self.pending = None

    def tagged_result(self, response: ServerResponse) -> int | None:
        found = self.unanswered.pop(response.tag, None)
        if found is None:
            self.dialog.problems.append(f"{self.server.where(response.offset)}: tagged response"
                                        f" {response.tag} answers no command seen")
            return None
        step, action = found
        self.dialog.imap[action] = replace(self.dialog.imap[action], result=response.status)
        doubt = self.doubts.pop(response.tag, None)
        if doubt is not None and response.status != "OK":  # OK: an extension the server has
            self.dialog.problems.append(f"{doubt}; the server answered {response.status}")
        return step

    def continuation(self, response: ServerResponse) -> None:
        if self.pending is None or self.pending[1] not in CONTINUES:
            self.dialog.problems.append(f"{self.server.where(response.offset)}: continuation"
                                        " request while the client waits for none")
            return
        self.machine.send(continuation(response.text[2:]))
        self.pending = None

    def missed_greeting(self, why: str) -> None:
        """The capture starts inside the session: read commands as in the selected state."""
        self.greeted = True
        self.machine.state = ImapState.SELECTED
        self.dialog.problems.append(f"no server greeting ({why}): the capture starts inside"
                                    " the session; commands read as in the selected state")

    def turn_to_tls(self, timestamp: float) -> None:
        self.encrypted = True
        self.dialog.tls_from = timestamp
        self.dialog.steps.append(Step(False, TLS, "TLS", "the rest is TLS", timestamp))
        if self.machine.discarded_before_tls:
            self.dialog.problems.append(
                f"the client sent {len(self.machine.discarded_before_tls)} octets after"
                " STARTTLS before the server accepted it (ignored, as a server must)")

    # -- the end of the capture: say what is missing
    def finish(self) -> Dialog:
        while self.pending is not None and self.pending[1] != LITERAL and not self.encrypted:
            self.machine.send(Response(self.pending[0], "OK"))  # read what was pipelined
            self.pending = None
            self.read_commands()
        if not self.encrypted:
            self.leftovers()
        return self.dialog

    def leftovers(self) -> None:
        self.dialog.problems += self.doubts.values()
        for tag, (step, _) in self.unanswered.items():
            label = self.dialog.steps[step].label
            self.dialog.problems.append(f"no tagged response to {tag} {label} (the capture ends)")
        left = self.client.received - self.command_start
        if left:
            why = ("after the session ended" if self.machine.state is ImapState.LOGOUT
                   else "that are no complete command (the capture ends)")
            self.dialog.problems.append(f"{self.client.where(self.command_start)}: {left}"
                                        f" octets {why}")
        missing = self.responses.leftover()
        if missing is not None:
            self.dialog.problems.append(f"{self.server.where(self.responses.offset)}: {missing}")

