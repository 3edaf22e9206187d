# What every check type is made of, what it grades, and the registry that lists them once.
#
# Evidence is what a run leaves to grade: the hops of the capture (conversations with
# their Dialog and TCP phases, from labctl.analysis) and the state the mail servers
# store (mailbox folders, outgoing queues, read after the steps for the checks that ask),
# never what a role program says of itself: `sent` (what a user agent says it composed)
# is only the reference a check compares the wire with.
#
# A check type is one pydantic model (its fields in the scenario file, `type` a Literal)
# and one grading function, registered together with @check_type(Model). Everything
# that lists check types — the Scenario's discriminated union, the JSON Schema, the
# format's documentation, the loader's error messages and evaluate() — reads REGISTRY.
# A grading function returns a Verdict whose output says, in one line, what was
# expected, what was observed and on which hop.
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, get_args

from pydantic import Field

from labctl.analysis import Conversation, Hop
from labctl.model import UNKNOWN
from labctl.model.mail_queue import QueueEntry
from labctl.program_contract import ProgramSpec
from labctl.reports.model import ProgramReport
from labctl.scenarios.actions import SentMessage, StoredMessage
from labctl.scenarios.fields import Strict

if TYPE_CHECKING:
    from labctl.scenarios.schema import Scenario


class Unmet(Exception):
    """Raised by a grading function for a failure its message says (no traceback)."""


def carried_bytes(conversation: Conversation) -> bool:
    """True when the connection carried anything (not only a handshake and a close)."""
    if conversation.protocol != UNKNOWN:
        return True
    return bool(conversation.segments or conversation.transcript)


def protocols_of(conversations: list[Conversation]) -> list[str]:
    """The protocols of `conversations`, each once, in order of appearance."""
    seen: list[str] = []
    for conversation in conversations:
        if conversation.protocol not in seen:
            seen.append(conversation.protocol)
    return seen


@dataclass
class Evidence:
    """What a run left to grade: hops from the capture, the messages sent, stored state."""

    scenario: Scenario
    hops: list[Hop] = field(default_factory=list)
    sent: dict[int, SentMessage] = field(default_factory=dict)  # by send step index
    problems: list[str] = field(default_factory=list)  # failed steps, capture trouble
    mailboxes: dict[tuple[str, str], list[StoredMessage]] = field(default_factory=dict)
    queues: dict[str, list[QueueEntry]] = field(default_factory=dict)  # by mail server
    programs: dict[str, ProgramSpec] = field(default_factory=dict)  # replacing roles, by role
    program_runs: list[ProgramReport] = field(default_factory=list)  # how each one ended

    def folder(self, address: str, folder: str) -> list[StoredMessage]:
        """The stored messages of a mailbox folder; Unmet when it could not be read."""
        if (address, folder) not in self.mailboxes:
            raise Unmet(f"the {folder} folder of {address} could not be read")
        return self.mailboxes[(address, folder)]

    def queue(self, role: str) -> list[QueueEntry]:
        """A mail server's outgoing queue; Unmet when it could not be read."""
        if role not in self.queues:
            raise Unmet(f"the outgoing queue of {role} could not be read")
        return self.queues[role]

    def connections(self, hop: str) -> list[Conversation]:
        """Every conversation on `hop` ("client -> server"), empty connections included."""
        client, _, server = hop.partition(" -> ")
        return [
            c
            for h in self.hops
            if h.client_role == client and h.server_role == server
            for c in h.conversations
        ]

    def conversations(self, hop: str) -> list[Conversation]:
        """The conversations on `hop` ("client -> server") that carried any bytes."""
        return [c for c in self.connections(hop) if carried_bytes(c)]

    def speaking(self, hop: str, protocol: str | None) -> list[Conversation]:
        """The conversations on `hop` that carried bytes of `protocol` (None: of any)."""
        found = self.conversations(hop)
        return [c for c in found if protocol is None or c.protocol == protocol]


class Feedback(Strict):
    """The instructor's words for a student, added to the check's own output."""

    passed: str = Field("", alias="pass")
    failed: str = Field("", alias="fail")


class CheckSpec(Strict):
    """Fields every check has: a name, its points and optional feedback."""

    type: str  # each check type narrows it to its Literal name
    name: str
    points: float = Field(ge=0)
    feedback: Feedback | None = None

    def scenario_problem(self, scenario: Scenario) -> tuple[str, str] | None:
        """(field, problem) when the check does not fit its scenario, else None."""
        return None

    def folders_read(self, scenario: Scenario) -> list[tuple[str, str]]:
        """(address, folder) of the mailbox folders the check reads, after the steps."""
        return []

    def queues_read(self) -> list[str]:
        """The mail servers whose outgoing queue the check reads, after the steps."""
        return []


@dataclass(frozen=True)
class Verdict:
    """A check's outcome: passed or not, and the one line that says why."""

    passed: bool
    output: str


def hop_verdict(passed: bool, hop: str, expected: str, observed: str) -> Verdict:
    """The usual line: "hop H: O" when passed, else "hop H: expected E, observed O"."""
    if passed:
        return Verdict(True, f"hop {hop}: {observed}")
    return Verdict(False, f"hop {hop}: expected {expected}, observed {observed}")


C = TypeVar("C", bound=CheckSpec)
Grader = Callable[[C, Evidence], Verdict]


@dataclass(frozen=True)
class CheckType:
    """One check type: its model and its grading function."""

    name: str
    model: type[CheckSpec]
    grade: Callable[[Any, Evidence], Verdict]

    @property
    def summary(self) -> str:
        """The first paragraph of the model's docstring, on one line."""
        text = (self.model.__doc__ or "").strip().split("\n\n")[0]
        return " ".join(text.split())


REGISTRY: dict[str, CheckType] = {}


def check_type(model: type[C]) -> Callable[[Grader[C]], Grader[C]]:
    """Register `model` (its `type` a Literal) with the grading function decorated."""
    (name,) = get_args(model.model_fields["type"].annotation)

    def register(grade: Grader[C]) -> Grader[C]:
        if name in REGISTRY:
            raise ValueError(f"check type {name!r} is registered twice")
        REGISTRY[name] = CheckType(name, model, grade)
        return grade

    return register
