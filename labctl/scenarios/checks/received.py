# The message_received check type, and what the message checks share: the reference to
# a send step of the scenario (of_step) and reading a message's headers and text body.
# A message counts as received when the capture of the user agent's connections carries
# it, never on the word of the user agent.
from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import TYPE_CHECKING, Literal

from pydantic import field_validator

from labctl.analysis.dialog import PAYLOAD
from labctl.model import POP3
from labctl.protocols.smtp_grammar import dot_unstuff
from labctl.scenarios.actions import SentMessage
from labctl.scenarios.checks.base import CheckSpec, Evidence, Unmet, Verdict, check_type
from labctl.scenarios.fields import LAST_SEND, user_agent

if TYPE_CHECKING:
    from labctl.scenarios.schema import Scenario

REQUIRED_HEADERS = ("To", "From", "Subject", "Date", "Message-ID")


def send_step_problem(scenario: Scenario, of_step: int | str) -> tuple[str, str] | None:
    """("of_step", why) when `of_step` names no send step of the scenario, else None."""
    try:
        scenario.send_index(of_step)
    except ValueError as exc:
        return "of_step", str(exc)
    return None


class OfSendStep(CheckSpec):
    """A check about the message of one send step: its index, or "last send"."""

    of_step: int | Literal["last send"] = LAST_SEND

    def scenario_problem(self, scenario: Scenario) -> tuple[str, str] | None:
        """of_step must name a send step of the scenario."""
        return send_step_problem(scenario, self.of_step)

    def sent(self, evidence: Evidence) -> SentMessage:
        """The message the send step sent; Unmet when the step failed."""
        return sent_message(evidence, self.of_step)


def sent_message(evidence: Evidence, of_step: int | str) -> SentMessage:
    """The message send step `of_step` sent; Unmet when the step did not complete."""
    index = evidence.scenario.send_index(of_step)
    sent = evidence.sent.get(index)
    if sent is None:
        raise Unmet(f"steps[{index}] (send) did not complete: no message sent")
    return sent


def parse_message(raw: bytes) -> EmailMessage:
    """An RFC 5322 message read with the modern email policy."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    return message


def bare_message_id(value: object) -> str:
    """A Message-ID without its angle brackets and surrounding blanks."""
    return str(value or "").strip().strip("<>").strip()


def body_lines(message: EmailMessage) -> list[str]:
    """The message's text body as lines, line endings and trailing blanks normalized."""
    part = message.get_body(preferencelist=("plain", "html")) or message
    try:
        text = part.get_content() if isinstance(part, EmailMessage) else str(part.get_payload())
    except (LookupError, ValueError, KeyError):
        payload = part.get_payload(decode=True)
        text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    if not isinstance(text, str):
        text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return [line.rstrip() for line in text.replace("\r\n", "\n").strip("\n").split("\n")]


def messages_fetched_by(evidence: Evidence, role: str) -> list[bytes]:
    """The messages the captured connections of `role` (as client) carried to it: POP3
    RETR bodies (un-dot-stuffed), IMAP literals, HTTP response bodies, in capture order."""
    found: list[bytes] = []
    for hop in evidence.hops:
        if hop.client_role != role:
            continue
        for conversation in hop.conversations:
            steps = conversation.dialog.steps if conversation.dialog is not None else []
            for step in steps:
                if (step.kind == PAYLOAD and not step.from_client and step.data
                        and step.label != "list"):  # not a POP3 LIST/UIDL listing
                    stuffed = conversation.protocol == POP3
                    found.append(dot_unstuff(step.data) if stuffed else step.data)
    return found


class MessageReceivedCheck(OfSendStep):
    """`role` fetched the message of send step `of_step`, as the capture of its
    connections shows it (POP3, IMAP or HTTP): same Message-ID, Subject and body,
    To/From/Subject/Date/Message-ID headers present."""

    type: Literal["message_received"]
    role: str = "receiver-ua"

    _role = field_validator("role")(user_agent)

    def scenario_problem(self, scenario: Scenario) -> tuple[str, str] | None:
        """of_step names a send step, and `role` fetches in some step."""
        fetchers = {s.fetch.role for s in scenario.steps if s.fetch is not None}
        problem = super().scenario_problem(scenario)
        if problem is None and self.role not in fetchers:
            return "role", f"no fetch step by {self.role}"
        return problem


@check_type(MessageReceivedCheck)
def grade_message_received(check: MessageReceivedCheck, evidence: Evidence) -> Verdict:
    """The role fetched the message of the send step, same body, headers in place."""
    sent = check.sent(evidence)
    fetched = [m for m in map(parse_message, messages_fetched_by(evidence, check.role))
               if m["Message-ID"] is not None]
    if not fetched:
        return Verdict(False, f"{check.role} fetched no messages (none in the capture of its "
                              "connections)")
    wanted = bare_message_id(sent.message_id)
    matches = [m for m in fetched if bare_message_id(m["Message-ID"]) == wanted]
    if not matches:
        return Verdict(False, f"{check.role} fetched {len(fetched)} message(s), none with "
                              f"Message-ID <{wanted}>")
    got, original = matches[0], parse_message(sent.raw)
    missing = [h for h in REQUIRED_HEADERS if got[h] is None]
    if missing:
        return Verdict(False, f"message <{wanted}> lacks header(s) {', '.join(missing)}")
    if str(got["Subject"]) != str(original["Subject"]):
        return Verdict(False, f"Subject differs: sent {str(original['Subject'])!r}, "
                              f"fetched {str(got['Subject'])!r}")
    sent_body, got_body = body_lines(original), body_lines(got)
    if sent_body != got_body:
        line = next(
            (i for i, (a, b) in enumerate(zip(sent_body, got_body, strict=False)) if a != b),
            min(len(sent_body), len(got_body)),
        )
        return Verdict(False, f"body of <{wanted}> differs from the one sent at line "
                              f"{line + 1} (sent {len(sent_body)} lines, fetched {len(got_body)})")
    return Verdict(True, f"{check.role} fetched <{wanted}>: same body, "
                         f"{', '.join(REQUIRED_HEADERS)} present")
