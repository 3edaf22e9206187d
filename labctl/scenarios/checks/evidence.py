# What a run leaves to grade: the analysed hops of the capture, plus what the steps did.
#
# Checks read the hops (conversations with their Dialog and TCP phases, from
# labctl.analysis) and the state the mail servers store (mailbox folders, outgoing
# queues, read after the steps for the checks that ask), never what a role program
# says of itself: `sent` (what a user agent says it composed) is only the reference a
# check compares the wire with.
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from labctl.analysis import Conversation, Hop
from labctl.model import UNKNOWN
from labctl.model.mail_queue import QueueEntry
from labctl.scenarios.actions import SentMessage, StoredMessage

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
