# Check types about the message on the wire: delivered intact on every SMTP hop (the
# SmtpTransaction facts: Message-ID, Subject, body hash, against the message Alice
# sent), and envelope versus header addresses (MAIL FROM/RCPT TO against From/To/Cc).
from __future__ import annotations

from collections.abc import Iterator
from email.utils import getaddresses
from typing import TYPE_CHECKING, Literal

from pydantic import Field, field_validator

from labctl.analysis import Conversation
from labctl.analysis.dialog import PAYLOAD, SmtpTransaction
from labctl.analysis.dialogs.smtp_facts import message_facts
from labctl.model import SMTP
from labctl.protocols.smtp_grammar import dot_unstuff
from labctl.scenarios.actions import StoredMessage
from labctl.scenarios.checks.base import CheckSpec, Evidence, Verdict, check_type, hop_verdict
from labctl.scenarios.checks.received import (
    OfSendStep,
    bare_message_id,
    parse_message,
    send_step_problem,
    sent_message,
)
from labctl.scenarios.fields import canonical_hop, role_pair

if TYPE_CHECKING:
    from labctl.scenarios.schema import Scenario

SMTP_PATH = ["sender-ua -> sender-mta", "sender-mta -> receiver-mta"]
INBOX = "INBOX"


def transactions(evidence: Evidence, hop: str) -> Iterator[tuple[Conversation, SmtpTransaction]]:
    """Every SMTP transaction of the hop's SMTP conversations, with its conversation."""
    for conversation in evidence.speaking(hop, SMTP):
        if conversation.dialog is not None:
            for transaction in conversation.dialog.smtp:
                yield conversation, transaction


def _on_the_wire(raw: bytes) -> bytes:
    """A composed message with CRLF line endings, as SMTP carries it."""
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


class MessageIntactCheck(OfSendStep):
    """On every hop of `hops` (SMTP hops; default Alice's submission and the relay) an
    SMTP transaction carried the message of send step `of_step`, and every transaction
    carrying its Message-ID has the Subject and the body (by SHA-256) Alice sent and was
    accepted; with `in_mailbox`, the recipient's INBOX also stores it so, as its server
    holds it. Fails naming the hop (or the mailbox) and what changed."""

    type: Literal["message_intact"]
    hops: list[str] = Field(default_factory=lambda: list(SMTP_PATH), min_length=1)
    in_mailbox: bool = False  # also stored intact in the recipient's INBOX (not fetched
    #                           with delete, then)

    @field_validator("hops")
    @classmethod
    def _hops(cls, value: list[str]) -> list[str]:
        return [canonical_hop(hop) for hop in value]

    def folders_read(self, scenario: Scenario) -> list[tuple[str, str]]:
        """The recipient's INBOX, when the message must be stored intact there."""
        step = scenario.steps[scenario.send_index(self.of_step)].send
        return [(step.to, INBOX)] if self.in_mailbox and step is not None else []


def _hop_problem(hop: str, evidence: Evidence, wanted: str, subject: str | None,
                 body: str) -> str | None:
    """What is wrong with the message `wanted` on `hop`, or None when it came intact."""
    seen = list(transactions(evidence, hop))
    carrying = [t for _, t in seen if bare_message_id(t.message_id) == wanted]
    if not carrying:
        ids = ", ".join(f"<{bare_message_id(t.message_id)}>" for _, t in seen[:3])
        return f"no SMTP transaction of it ({len(seen)} transaction(s){': ' if ids else ''}{ids})"
    for transaction in carrying:
        if transaction.subject != subject:
            return f"Subject {transaction.subject!r} where {subject!r} was sent"
        if transaction.body_sha256 != body:
            return f"a body that differs from the one sent ({transaction.size} octets in all)"
    if not any(t.accepted for t in carrying):
        return f"end of data answered {carrying[-1].reply or 'nothing'}, not 2xx"
    return None


@check_type(MessageIntactCheck)
def grade_message_intact(check: MessageIntactCheck, evidence: Evidence) -> Verdict:
    """The message went over every hop with the Subject and body Alice sent."""
    sent = check.sent(evidence)
    message_id, subject, body = message_facts(_on_the_wire(sent.raw))
    wanted = bare_message_id(message_id or sent.message_id)
    expected = f"<{wanted}> with the Subject and body sent"
    for hop in check.hops:
        problem = _hop_problem(hop, evidence, wanted, subject, body)
        if problem is not None:
            return hop_verdict(False, hop, expected, problem)
    stored = ""
    for address, folder in check.folders_read(evidence.scenario):
        problem = _stored_problem(evidence.folder(address, folder), wanted, subject, body)
        if problem is not None:
            return Verdict(False, f"mailbox {address} folder {folder}: expected {expected}, "
                                  f"observed {problem}")
        stored = f" and is stored so in {address}'s {folder}"
    return Verdict(True, f"<{wanted}> crossed {', '.join(check.hops)} with the Subject and "
                         f"body sent{stored}")


def _stored_problem(stored: list[StoredMessage], wanted: str, subject: str | None,
                    body: str) -> str | None:
    """What is wrong with the stored copy of `wanted`, or None when it is intact."""
    facts = [message_facts(_on_the_wire(m.raw)) for m in stored]
    copies = [(s, b) for message_id, s, b in facts if bare_message_id(message_id) == wanted]
    if not copies:
        return f"no stored copy among {len(stored)} message(s)"
    for stored_subject, stored_body in copies:
        if stored_subject != subject:
            return f"a copy with Subject {stored_subject!r} where {subject!r} was sent"
        if stored_body != body:
            return "a copy whose body differs from the one sent"
    return None


class EnvelopeVsHeaderCheck(CheckSpec):
    """On `hop` (any two lab roles), each SMTP transaction (only the message of send step
    `of_step` when given) has an envelope (MAIL FROM, accepted RCPT TO) that is the `same`
    as, or `different` from, its header addresses (From; To and Cc). There must be one."""

    type: Literal["envelope_vs_header"]
    hop: str = "sender-mta -> receiver-mta"
    expect: Literal["same", "different"] = "same"
    of_step: int | Literal["last send"] | None = None

    _hop = field_validator("hop")(role_pair)

    def scenario_problem(self, scenario: Scenario) -> tuple[str, str] | None:
        """of_step, when given, names a send step."""
        return None if self.of_step is None else send_step_problem(scenario, self.of_step)


def headers_by_id(conversation: Conversation) -> dict[str, tuple[str, list[str]]]:
    """{Message-ID: (From address, To and Cc addresses)} of the messages after 354."""
    found: dict[str, tuple[str, list[str]]] = {}
    steps = conversation.dialog.steps if conversation.dialog is not None else []
    for step in steps:
        if step.kind == PAYLOAD and step.label == "message":
            message = parse_message(dot_unstuff(step.data))
            senders = getaddresses(message.get_all("From", []))
            receivers = getaddresses(message.get_all("To", []) + message.get_all("Cc", []))
            found[bare_message_id(message["Message-ID"])] = (
                senders[0][1].lower() if senders else "", sorted(a.lower() for _, a in receivers))
    return found


@check_type(EnvelopeVsHeaderCheck)
def grade_envelope_vs_header(check: EnvelopeVsHeaderCheck, evidence: Evidence) -> Verdict:
    """Envelope and header addresses are the same (or differ) on every transaction."""
    wanted: str | None = None
    if check.of_step is not None:
        wanted = bare_message_id(sent_message(evidence, check.of_step).message_id)
    relation = "the same" if check.expect == "same" else "different"
    expected = f"envelope and header addresses {relation}"
    compared = 0
    for conversation, transaction in transactions(evidence, check.hop):
        message_id = bare_message_id(transaction.message_id)
        if wanted is not None and message_id != wanted:
            continue
        sender, receivers = headers_by_id(conversation).get(message_id, ("", []))
        envelope = (transaction.mail_from.lower(), sorted(a.lower() for a in transaction.rcpt_to))
        compared += 1
        if (envelope == (sender, receivers)) != (check.expect == "same"):
            shown = (f"MAIL FROM <{envelope[0]}> / From <{sender}>, RCPT TO "
                     f"{', '.join(envelope[1]) or 'none'} / To+Cc {', '.join(receivers) or 'none'}")
            return hop_verdict(False, check.hop, expected, shown)
    if not compared:
        return hop_verdict(False, check.hop, expected, "no SMTP transaction to compare")
    return hop_verdict(True, check.hop, "", f"{expected} in {compared} transaction(s)")
