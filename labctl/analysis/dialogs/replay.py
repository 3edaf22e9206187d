# What the SMTP and POP3 observers share: a captured conversation replayed through a
# sans-I/O server machine (the one the maillab servers run).
#
# Replay holds the two Directions, the machine and the ClientFeed between them, and the
# Recorder of the dialog. next_event() pulls the machine's next event, feeding client
# segments only as the machine needs them; leftovers() turns what the replay did not
# reach into steps and problem notes (commands with no reply, replies nobody asked for,
# last lines without a line ending), so a truncated capture loses nothing.
from __future__ import annotations

from collections.abc import Sequence
from typing import Generic, Protocol, TypeVar

from labctl.analysis.dialog import COMMAND, UNREADABLE, Step
from labctl.analysis.dialogs.streams import ClientFeed, Direction, Recorder, lines_of
from labctl.analysis.results import Segment
from labctl.protocols.errors import ProtocolError
from labctl.protocols.shared_events import NEED_DATA

SASL_RESPONSE = "SASL response"  # the label of a client line inside a SASL exchange
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

    def __init__(self, segments: Sequence[Segment], machine: MachineT) -> None:
        self.client = Direction(segments, True)
        self.server = Direction(segments, False)
        self.machine = machine
        self.feed = ClientFeed(self.client, machine)
        self.out = Recorder(self.protocol_name)
        self.client_done = False  # the rest of the client's bytes are accounted for

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
