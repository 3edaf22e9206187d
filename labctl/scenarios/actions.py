# What the scenario runner needs from a running lab: the LabActions protocol.
#
# The controller implements it for each backend (compose, local); tests implement it in
# memory. Keeping it this small keeps the runner free of HTTP, Docker and processes.
# Any method may raise: the runner records the failure and carries on. Besides the
# captures, the checks read the lab's stored state (mailbox folders, outgoing queues)
# as the mail servers hold it, through mailbox() and queue(); server steps take a mail
# server down and up, wait on its queue and flush it, talk SMTP to it by hand; a
# scenario's setup reads and changes the mail servers' lab options for its run; a
# program step runs a student's program in place of a role.
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from labctl.agent_contract import FetchRequest, SendVia, SmtpSessionResult
from labctl.analysis.results import Hop
from labctl.model.mail_queue import QueueEntry
from labctl.model.options import LabOptionChanges, LabOptions
from labctl.program_contract import ProgramRequest, ProgramResult


@dataclass(frozen=True)
class SentMessage:
    """A message a user agent submitted: its Message-ID and the bytes as composed."""

    message_id: str  # with or without the angle brackets
    raw: bytes  # the RFC 5322 message exactly as the UA composed it
    from_address: str
    to_address: str


@dataclass(frozen=True)
class StoredMessage:
    """A message in a mailbox folder, as its mail server stores it."""

    uid: int
    flags: tuple[str, ...]  # Seen, Deleted, Flagged... as the server lists them
    raw: bytes  # the message as stored (with the headers the servers added)


class LabActions(Protocol):
    """The operations a scenario's steps and checks use on a running lab."""

    async def send(
        self, role: str, to: str, subject: str, body: str, headers: dict[str, str],
        via: SendVia = "smtp",
    ) -> SentMessage:
        """Have user agent `role` compose a message and submit it (SMTP or webmail)."""
        ...

    async def wait_delivered(self, address: str, message_id: str, timeout_s: float) -> bool:
        """Wait until `message_id` is in the mailbox of `address`; False on timeout."""
        ...

    async def fetch(self, role: str, request: FetchRequest) -> list[bytes]:
        """Have user agent `role` fetch as `request` says; the raw messages (or parts)."""
        ...

    async def start_capture(self) -> None:
        """Start recording every lab link."""
        ...

    async def stop_capture(self) -> list[Hop]:
        """Stop recording and return the analysed hops of the capture."""
        ...

    async def mailbox(self, address: str, folder: str) -> list[StoredMessage]:
        """The messages stored in one folder of `address`'s mailbox, on its mail server."""
        ...

    async def queue(self, role: str) -> list[QueueEntry]:
        """Mail server `role`'s outgoing queue: waiting messages, then failed ones."""
        ...

    async def set_server(self, role: str, up: bool) -> None:
        """Take mail server `role` down (queue and mailboxes kept) or bring it back up."""
        ...

    async def wait_queued(self, role: str, messages: int, attempts: int,
                          timeout_s: float) -> bool:
        """Wait until `messages` messages wait in `role`'s queue, each after `attempts` or
        more delivery attempts; False on timeout."""
        ...

    async def flush(self, role: str) -> int:
        """Make every message waiting in `role`'s queue due now; how many there were."""
        ...

    async def options(self, role: str) -> LabOptions:
        """The lab options mail server `role` goes by now."""
        ...

    async def set_options(self, role: str, changes: LabOptionChanges) -> LabOptions:
        """Change the lab options `changes` sets on mail server `role` (the others stay),
        for its new connections and transactions; its options now."""
        ...

    async def send_raw(self, role: str, server: str, lines: list[str]) -> SmtpSessionResult:
        """Have `role` type `lines` to mail server `server`'s SMTP port, as at telnet."""
        ...

    async def run_program(self, role: str, request: ProgramRequest) -> ProgramResult:
        """Run a program in place of `role` (a user agent or mallory), where it lives."""
        ...
