# The graded checks: one function per check type, found through the CHECKS table.
#
# A check reads Evidence (the analysed hops, plus what the steps sent and fetched) and
# returns a CheckResult whose output says, in one line, what was expected and what was
# observed. Checks never raise for a lab-side failure: evaluate() turns anything
# unexpected into a failed result, and appends the run's step failures to explain it.
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

from labctl.analysis import Conversation, Hop
from labctl.model import SMTP, UNKNOWN
from labctl.reports.model import CheckResult
from labctl.scenarios.actions import SentMessage
from labctl.scenarios.dialog_rule import missing_step
from labctl.scenarios.schema import (
    Check,
    HopProtocolCheck,
    MessageReceivedCheck,
    Scenario,
    SmtpDialogCheck,
)

REQUIRED_HEADERS = ("To", "From", "Subject", "Date", "Message-ID")


@dataclass
class Evidence:
    """What a run left to grade: hops from the capture, messages sent and fetched."""

    scenario: Scenario
    hops: list[Hop] = field(default_factory=list)
    sent: dict[int, SentMessage] = field(default_factory=dict)  # by send step index
    fetched: dict[str, list[bytes]] = field(default_factory=dict)  # raw messages by role
    problems: list[str] = field(default_factory=list)  # failed steps, capture trouble

    def conversations(self, hop: str) -> list[Conversation]:
        """The conversations on `hop` ("client -> server") that carried any bytes."""
        client, _, server = hop.partition(" -> ")
        return [
            c
            for h in self.hops
            if h.client_role == client and h.server_role == server
            for c in h.conversations
            if c.protocol != UNKNOWN or c.segments or c.transcript
        ]


def _result(check: Check, passed: bool, output: str) -> CheckResult:
    return CheckResult(
        name=check.name,
        passed=passed,
        score=check.points if passed else 0.0,
        max_score=check.points,
        output=output,
    )


def _observed(conversations: list[Conversation]) -> list[str]:
    seen: list[str] = []
    for conversation in conversations:
        if conversation.protocol not in seen:
            seen.append(conversation.protocol)
    return seen


def check_hop_protocol(check: HopProtocolCheck, evidence: Evidence) -> CheckResult:
    """Every conversation on the hop speaks the expected protocol (and there is one)."""
    observed = _observed(evidence.conversations(check.hop))
    shown = ", ".join(observed) or "nothing"
    if observed == [check.expect]:
        return _result(check, True, f"hop {check.hop}: {check.expect} as expected")
    return _result(check, False, f"hop {check.hop}: expected {check.expect}, observed {shown}")


def check_smtp_dialog(check: SmtpDialogCheck, evidence: Evidence) -> CheckResult:
    """One SMTP conversation on the hop runs 220 EHLO MAIL RCPT DATA 354 . 250 QUIT 221."""
    conversations = evidence.conversations(check.hop)
    smtp = [c for c in conversations if c.protocol == SMTP]
    if not smtp:
        shown = ", ".join(_observed(conversations)) or "nothing"
        return _result(check, False, f"hop {check.hop}: no SMTP conversation, observed {shown}")
    problems: list[str] = []
    for conversation in smtp:
        steps = conversation.dialog.steps if conversation.dialog is not None else []
        problem = missing_step(steps)
        if problem is None:
            where = f"{conversation.client} -> {conversation.server}"
            return _result(check, True, f"hop {check.hop}: complete SMTP dialog ({where})")
        problems.append(problem)
    others = f" (and {len(problems) - 1} more incomplete)" if len(problems) > 1 else ""
    return _result(check, False, f"hop {check.hop}: SMTP dialog {problems[0]}{others}")


def _parse(raw: bytes) -> EmailMessage:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    return message


def _message_id(value: object) -> str:
    return str(value or "").strip().strip("<>").strip()


def _body_lines(message: EmailMessage) -> list[str]:
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


def check_message_received(check: MessageReceivedCheck, evidence: Evidence) -> CheckResult:
    """The role fetched the message of the send step, same body, headers in place."""
    index = evidence.scenario.send_index(check.of_step)
    sent = evidence.sent.get(index)
    if sent is None:
        return _result(check, False, f"steps[{index}] (send) did not complete: no message sent")
    fetched = evidence.fetched.get(check.role, [])
    if not fetched:
        return _result(check, False, f"{check.role} fetched no messages")
    wanted = _message_id(sent.message_id)
    matches = [m for m in map(_parse, fetched) if _message_id(m["Message-ID"]) == wanted]
    if not matches:
        return _result(
            check,
            False,
            f"{check.role} fetched {len(fetched)} message(s), none with Message-ID <{wanted}>",
        )
    got, original = matches[0], _parse(sent.raw)
    missing = [h for h in REQUIRED_HEADERS if got[h] is None]
    if missing:
        return _result(check, False, f"message <{wanted}> lacks header(s) {', '.join(missing)}")
    if str(got["Subject"]) != str(original["Subject"]):
        return _result(
            check,
            False,
            f"Subject differs: sent {str(original['Subject'])!r}, fetched {str(got['Subject'])!r}",
        )
    sent_body, got_body = _body_lines(original), _body_lines(got)
    if sent_body != got_body:
        line = next(
            (i for i, (a, b) in enumerate(zip(sent_body, got_body, strict=False)) if a != b),
            min(len(sent_body), len(got_body)),
        )
        return _result(
            check,
            False,
            f"body of <{wanted}> differs from the one sent at line {line + 1} "
            f"(sent {len(sent_body)} lines, fetched {len(got_body)})",
        )
    return _result(
        check,
        True,
        f"{check.role} fetched <{wanted}>: same body, {', '.join(REQUIRED_HEADERS)} present",
    )


CHECKS: dict[str, Callable[[Any, Evidence], CheckResult]] = {
    "hop_protocol": check_hop_protocol,
    "smtp_dialog": check_smtp_dialog,
    "message_received": check_message_received,
}


def evaluate(check: Check, evidence: Evidence) -> CheckResult:
    """Run `check`; a failure is explained by the run's problems, an error becomes a failure."""
    try:
        result = CHECKS[check.type](check, evidence)
    except Exception as exc:  # a check must grade, never crash the run
        result = _result(check, False, f"check could not be evaluated: {exc!r}")
    if not result.passed and evidence.problems:
        note = "; ".join(evidence.problems)
        result = result.model_copy(update={"output": f"{result.output} (run: {note})"})
    return result
