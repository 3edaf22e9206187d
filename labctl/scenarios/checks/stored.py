# Check types about the state the mail servers store, read after the steps through the
# servers' control agents (never from the user agents): a mailbox folder (how many
# messages, which ones, their flags: POP3 delete or keep, IMAP folders and flags that
# persist) and an outgoing queue (a message waiting while the receiver is down, an
# empty queue once it is delivered).
from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field, field_validator, model_validator

from labctl.scenarios.checks.base import CheckSpec, Evidence, Verdict, check_type
from labctl.scenarios.checks.received import (
    bare_message_id,
    parse_message,
    send_step_problem,
    sent_message,
)
from labctl.scenarios.fields import mail_address, mail_server

if TYPE_CHECKING:
    from labctl.scenarios.schema import Scenario

SendRef = int | Literal["last send"] | None


def _send_refs_problem(scenario: Scenario, **refs: SendRef) -> tuple[str, str] | None:
    for name, ref in refs.items():
        problem = None if ref is None else send_step_problem(scenario, ref)
        if problem is not None:
            return name, problem[1]
    return None


def _wanted_id(evidence: Evidence, ref: SendRef) -> str | None:
    return None if ref is None else bare_message_id(sent_message(evidence, ref).message_id)


class MailboxStateCheck(CheckSpec):
    """The `folder` (default INBOX) of `address`'s mailbox, as its server stores it after
    the steps, holds `count` messages, holds the message of send step `holds` (with the
    `flags`, e.g. [Seen], when given) and not that of send step `lacks`; give at least one
    of count, holds, lacks. POP3 download-and-keep leaves the message, delete removes it."""

    type: Literal["mailbox_state"]
    address: str = "bob@hamburger.edu"
    folder: str = "INBOX"
    count: int | None = Field(None, ge=0)
    holds: SendRef = None
    lacks: SendRef = None
    flags: list[str] = Field(default_factory=list)

    _address = field_validator("address")(mail_address)

    @model_validator(mode="after")
    def _something_to_check(self) -> MailboxStateCheck:
        if self.count is None and self.holds is None and self.lacks is None:
            raise ValueError("give count, holds or lacks (what the folder must show)")
        if self.flags and self.holds is None:
            raise ValueError("flags are those of the message `holds` names: give holds")
        return self

    def scenario_problem(self, scenario: Scenario) -> tuple[str, str] | None:
        """holds and lacks name send steps."""
        return _send_refs_problem(scenario, holds=self.holds, lacks=self.lacks)

    def folders_read(self, scenario: Scenario) -> list[tuple[str, str]]:
        """The one folder the check reads."""
        return [(self.address, self.folder)]


@check_type(MailboxStateCheck)
def grade_mailbox_state(check: MailboxStateCheck, evidence: Evidence) -> Verdict:
    """The folder holds what the check says, as stored."""
    where = f"mailbox {check.address} folder {check.folder}"
    stored = evidence.folder(check.address, check.folder)
    by_id = {bare_message_id(parse_message(m.raw)["Message-ID"]): m for m in stored}
    shown = f"{len(stored)} message(s)" + (
        f": {', '.join(f'<{i}>' for i in list(by_id)[:3])}" if by_id else "")
    if check.count is not None and len(stored) != check.count:
        return Verdict(False, f"{where}: expected {check.count} message(s), observed {shown}")
    held, lacked = _wanted_id(evidence, check.holds), _wanted_id(evidence, check.lacks)
    if held is not None and held not in by_id:
        return Verdict(False, f"{where}: expected <{held}>, observed {shown}")
    if lacked is not None and lacked in by_id:
        return Verdict(False, f"{where}: expected <{lacked}> gone, observed it still there")
    if held is not None:
        missing = [f for f in check.flags if f not in by_id[held].flags]
        if missing:
            have = ", ".join(by_id[held].flags) or "no flags"
            return Verdict(False, f"{where}: expected <{held}> flagged {', '.join(check.flags)}"
                                  f", observed {have}")
    return Verdict(True, f"{where}: {shown}, as expected")


class QueueStateCheck(CheckSpec):
    """Mail server `role`'s outgoing queue after the steps holds `waiting` messages still
    to deliver and `failed` bounced ones, and holds (waiting) the message of send step
    `holds`; give at least one of them. An empty queue: waiting 0."""

    type: Literal["queue_state"]
    role: str = "sender-mta"
    waiting: int | None = Field(None, ge=0)
    failed: int | None = Field(None, ge=0)
    holds: SendRef = None

    _role = field_validator("role")(mail_server)

    @model_validator(mode="after")
    def _something_to_check(self) -> QueueStateCheck:
        if self.waiting is None and self.failed is None and self.holds is None:
            raise ValueError("give waiting, failed or holds (what the queue must show)")
        return self

    def scenario_problem(self, scenario: Scenario) -> tuple[str, str] | None:
        """holds names a send step."""
        return _send_refs_problem(scenario, holds=self.holds)

    def queues_read(self) -> list[str]:
        """The one queue the check reads."""
        return [self.role]


@check_type(QueueStateCheck)
def grade_queue_state(check: QueueStateCheck, evidence: Evidence) -> Verdict:
    """The queue holds what the check says."""
    entries = evidence.queue(check.role)
    waiting = [e for e in entries if e.state == "queued"]
    failed = [e for e in entries if e.state == "failed"]
    shown = f"{len(waiting)} waiting, {len(failed)} failed" + "".join(
        f"; <{bare_message_id(e.message_id)}> to {', '.join(e.rcpt_tos)} after {e.attempts} "
        f"attempt(s){f' ({e.last_error})' if e.last_error else ''}" for e in entries[:2])
    where = f"queue of {check.role}"
    for wanted, found, word in ((check.waiting, waiting, "waiting"),
                                (check.failed, failed, "failed")):
        if wanted is not None and len(found) != wanted:
            return Verdict(False, f"{where}: expected {wanted} {word}, observed {shown}")
    held = _wanted_id(evidence, check.holds)
    if held is not None and held not in {bare_message_id(e.message_id) for e in waiting}:
        return Verdict(False, f"{where}: expected <{held}> waiting, observed {shown}")
    return Verdict(True, f"{where}: {shown}, as expected")
