# What the SMTP and POP3 observers share: a captured conversation replayed through a
# sans-I/O server machine (the one the maillab servers run).
#
# Replay holds the two Directions, the machine and the ClientFeed between them, and the
# Recorder of the dialog. next_event() pulls the machine's next event, feeding client
# segments only as the machine needs them; leftovers() turns what the replay did not
# reach into steps and problem notes (commands with no reply, replies nobody asked for,
# last lines without a line ending), so a truncated capture loses nothing. check_order()
# is the one pipelining rule of both: a command whose first byte was captured before the
# last byte of the reply to the previous command is a PipelinedCommand fact, and a
# problem unless the server offered PIPELINING and that reply need not be awaited.
# A SASL response is a CONTINUATION step (sasl_response()), labelled as in IMAP.
from __future__ import annotations

from collections.abc import Sequence
from typing import Generic, Protocol, TypeVar

from labctl.analysis.dialog import (
    COMMAND,
    CONTINUATION,
    SASL_RESPONSE,
    UNREADABLE,
    PipelinedCommand,
    Step,
)
from labctl.analysis.dialogs.streams import ClientFeed, Direction, Recorder, lines_of
from labctl.analysis.results import Segment
from labctl.protocols.errors import ProtocolError
from labctl.protocols.shared_events import NEED_DATA

EventT = TypeVar("EventT", covariant=True)


class ReplayMachine(Protocol[EventT]):
    """A server machine as the replay drives it."""

    def receive_data(self, data: bytes) -> None: ...

    def next_event(self) -> EventT: ...

    @property
    def unread(self) -> int: ...


MachineT = TypeVar("MachineT", bound=ReplayMachine[object])


class Replay(Generic[MachineT]):
    """The state of one replay; subclasses say how lines parse and replies are read."""

    protocol_name = ""
    not_offered = "the server did not offer PIPELINING"  # why pipelining was wrong
    must_wait = ""  # the rule that says a command's reply must be awaited

    def __init__(self, segments: Sequence[Segment], machine: MachineT) -> None:
        self.client = Direction(segments, True)
        self.server = Direction(segments, False)
        self.machine = machine
        self.feed = ClientFeed(self.client, machine)
        self.out = Recorder(self.protocol_name)
        self.client_done = False  # the rest of the client's bytes are accounted for
        self.pipelining = False  # the server offered PIPELINING
        self.previous = "the server's greeting"  # what the last reply answered
        self.previous_last = True  # that command's reply must be awaited before the next
        self.reply_order = 0  # capture order of the last reply's last segment

    def pull(self) -> object:
        """The machine's next event, fed as needed; NEED_DATA when the client sent no more."""
        while True:
            event = self.machine.next_event()
            if event is not NEED_DATA or not self.feed.more():
                return event

    def greeting_seen(self, looks_like_one: bool) -> bool:
        """Whether the server's first reply is its greeting; if not, the capture began later.

        It is when the server spoke first, or when the client spoke first (too early) and
        the reply `looks_like_one`. A capture that starts mid-connection has none.
        """
        if not self.server.data:
            return False
        if (not self.client.data or self.server.order_at(0) < self.client.order_at(0)
                or looks_like_one):
            return True
        self.out.problem("the capture starts after the server's greeting")
        return False

    def label_of(self, line: bytes) -> tuple[str, str]:
        """(label, argument) of a client command line; ProtocolError when it is none."""
        raise NotImplementedError

    def read_reply_step(self) -> bool:
        """Read one server reply as a step answering nothing; False when none is left."""
        raise NotImplementedError

    def check_order(self, label: str, start: int) -> None:
        """A command sent before the reply to the previous one: a fact, and a problem
        when the server did not offer PIPELINING or that reply had to be awaited."""
        if self.client.order_at(start) >= self.reply_order:
            return
        allowed = self.pipelining and not self.previous_last
        self.out.dialog.pipelined.append(PipelinedCommand(
            label, self.previous, self.pipelining, allowed, self.client.time_at(start)))
        if not allowed:
            why = (self.not_offered if not self.pipelining
                   else f"{self.previous} must end a pipelined group ({self.must_wait})")
            self.out.problem(f"client sent {label} before the reply to {self.previous}: {why}")

    def sasl_response(self, line: bytes, offset: int) -> int:
        """A client line inside a SASL exchange: its CONTINUATION step's index."""
        return self.out.add(Step(True, CONTINUATION, SASL_RESPONSE, line.strip().decode(
            "ascii", "replace"), self.client.time_at(offset)))

    def unreadable(self, line: bytes, offset: int, error: ProtocolError) -> int:
        """A client line that is not a command: an unreadable step and a problem note."""
        self.out.problem(f"client line not a command of {self.protocol_name}: {error}")
        return self.out.add(Step(True, UNREADABLE, "?", error.reason,
                                 self.client.time_at(offset), data=line))

    def leftovers(self) -> None:
        """Client lines never answered, server replies nobody asked for, unfinished lines."""
        offset = self.feed.position
        for line in [] if self.client_done else lines_of(self.client.data[offset:]):
            if not line.endswith(b"\n"):
                self.out.unterminated(self.client, line, offset)
            else:
                self.unanswered(line, offset)
            offset += len(line)
        while self.read_reply_step():
            pass
        if self.server.rest():
            self.out.unterminated(self.server, self.server.rest(), self.server.pos)
            self.server.pos = len(self.server.data)

    def unanswered(self, line: bytes, offset: int) -> None:
        try:
            label, argument = self.label_of(line)
        except ProtocolError as error:
            self.unreadable(line, offset, error)
            return
        self.out.problem(f"client sent {label} and the capture holds no reply to it")
        self.out.add(Step(True, COMMAND, label, argument, self.client.time_at(offset)))
