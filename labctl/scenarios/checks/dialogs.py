# Check types about the dialog on a hop: the lecture's whole SMTP dialog (smtp_dialog),
# any ordered sequence of commands and replies (dialog_sequence), the reply code a
# command got (reply_code), and the habits a hand-written SMTP client gets wrong: lines
# ended by CRLF, not a bare LF (line_endings), and waiting for each reply unless the
# server offered PIPELINING, RFC 2920 (waits_for_replies; the SMTP observer records both
# facts on the Dialog from the capture order: bare_lf, and pipelined, whose entries not
# allowed are the early ones). They read the Dialog the analyzer replayed from the bytes.
from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pydantic import Field, field_validator

from labctl.analysis import Conversation
from labctl.analysis.dialog import REPLY, Dialog
from labctl.model import SMTP
from labctl.scenarios.checks.base import (
    CheckSpec,
    Evidence,
    Verdict,
    check_type,
    hop_verdict,
    protocols_of,
)
from labctl.scenarios.checks.hops import WireProtocol, endpoints, upper_value
from labctl.scenarios.dialog_rule import SERVER_DIALOG, Expected, expected_step, missing_step
from labctl.scenarios.fields import canonical_hop, role_pair


def _sequence_verdict(hop: str, evidence: Evidence, protocol: str | None,
                      expected: tuple[Expected, ...], whole: str) -> Verdict:
    """Passes when one of the hop's conversations (of `protocol`) holds `expected` in order."""
    on_hop = evidence.conversations(hop)
    conversations = [c for c in on_hop if protocol is None or c.protocol == protocol]
    noun = f"{protocol} " if protocol else ""
    if not conversations:
        return Verdict(False, f"hop {hop}: no {noun}conversation, observed "
                              f"{', '.join(protocols_of(on_hop)) or 'nothing'}")
    problems: list[str] = []
    for conversation in conversations:
        steps = conversation.dialog.steps if conversation.dialog is not None else []
        problem = missing_step(steps, expected)
        if problem is None:
            return Verdict(True, f"hop {hop}: {whole} ({endpoints(conversation)})")
        problems.append(problem)
    others = f" (and {len(problems) - 1} more incomplete)" if len(problems) > 1 else ""
    return Verdict(False, f"hop {hop}: {noun}dialog {problems[0]}{others}")


class SmtpDialogCheck(CheckSpec):
    """One SMTP conversation on the hop holds, in order, 220, HELO or EHLO, MAIL FROM,
    RCPT TO, DATA, 354, the lone ".", 250, QUIT, 221. Fails naming the step."""

    type: Literal["smtp_dialog"]
    hop: str = "sender-mta -> receiver-mta"

    _hop = field_validator("hop")(canonical_hop)


@check_type(SmtpDialogCheck)
def grade_smtp_dialog(check: SmtpDialogCheck, evidence: Evidence) -> Verdict:
    """One SMTP conversation on the hop runs 220 EHLO MAIL RCPT DATA 354 . 250 QUIT 221."""
    return _sequence_verdict(check.hop, evidence, SMTP, SERVER_DIALOG, "complete SMTP dialog")


class DialogSequenceCheck(CheckSpec):
    """One conversation on the hop (in `protocol` when given) holds the steps of
    `sequence` in order: command labels (EHLO, MAIL FROM, RETR, message, ".") and reply
    codes (250, +OK), alternatives joined by "|"; each reply must be the next reply after
    the step before it. Fails naming the first step missing or out of order."""

    type: Literal["dialog_sequence"]
    hop: str  # any two lab roles (mallory -> receiver-mta: a session typed by hand)
    protocol: WireProtocol | None = None
    sequence: list[str] = Field(min_length=1)

    _hop = field_validator("hop")(role_pair)
    _protocol = field_validator("protocol", mode="before")(upper_value)

    @field_validator("sequence")
    @classmethod
    def _readable(cls, value: list[str]) -> list[str]:
        for item in value:
            expected_step(item)
        return value


@check_type(DialogSequenceCheck)
def grade_dialog_sequence(check: DialogSequenceCheck, evidence: Evidence) -> Verdict:
    """One conversation on the hop holds the sequence in order."""
    expected = tuple(expected_step(item) for item in check.sequence)
    return _sequence_verdict(check.hop, evidence, check.protocol, expected,
                             f"the dialog holds {', '.join(check.sequence)}")


def _codes(value: Any) -> Any:
    return [value] if isinstance(value, str | int) else value


def code_matches(code: str, pattern: str) -> bool:
    """"550" matches 550; "5xx" and "55x" match by their leading digits."""
    stem = pattern.lower().rstrip("x")
    return code == pattern or (stem != pattern.lower() and code.startswith(stem)
                               and len(code) == len(pattern))


class ReplyCodeCheck(CheckSpec):
    """Every reply on the hop to `command` (a label such as RCPT TO, optionally only those
    whose argument contains `argument`) has one of the codes of `expect` (550, 5xx, +OK),
    and there is at least one. Fails naming the command and the reply seen."""

    type: Literal["reply_code"]
    hop: str  # any two lab roles
    command: str
    argument: str | None = None
    expect: list[str] = Field(min_length=1)
    protocol: WireProtocol | None = None

    _hop = field_validator("hop")(role_pair)
    _protocol = field_validator("protocol", mode="before")(upper_value)
    _command = field_validator("command", mode="before")(upper_value)
    _expect = field_validator("expect", mode="before")(_codes)

    @field_validator("expect", mode="after")
    @classmethod
    def _as_text(cls, value: list[str]) -> list[str]:
        return [str(code).upper() for code in value]


def replies_to(check: ReplyCodeCheck, conversation: Conversation) -> list[tuple[str, str]]:
    """(the command's argument, the reply code) for each answered command of the check."""
    steps = conversation.dialog.steps if conversation.dialog is not None else []
    wanted = (check.argument or "").lower()
    found = []
    for step in steps:
        if step.kind != REPLY or step.answers is None:
            continue
        command = steps[step.answers]
        if command.label == check.command and wanted in command.text.lower():
            found.append((command.text, step.code or step.label))
    return found


@check_type(ReplyCodeCheck)
def grade_reply_code(check: ReplyCodeCheck, evidence: Evidence) -> Verdict:
    """Every reply to the command has an expected code."""
    what = check.command + (f" containing {check.argument!r}" if check.argument else "")
    expected = f"{what} answered {' or '.join(check.expect)}"
    found = [r for c in evidence.speaking(check.hop, check.protocol) for r in replies_to(check, c)]
    if not found:
        return hop_verdict(False, check.hop, expected, f"no reply to {what}")
    wrong = [(argument, code) for argument, code in found
             if not any(code_matches(code, pattern) for pattern in check.expect)]
    if wrong:
        verb = check.command.split()[0]  # "RCPT" + "TO:<a@b>" is the line as sent
        shown = ", ".join(f"{code} to {verb} {argument}".rstrip() for argument, code in wrong[:3])
        return hop_verdict(False, check.hop, expected, shown)
    codes = sorted({code for _, code in found})
    return hop_verdict(True, check.hop, "", f"{what} answered {', '.join(codes)} "
                       f"({len(found)} time(s))")


class _ClientHabitCheck(CheckSpec):
    hop: str = "sender-ua -> sender-mta"  # any two lab roles

    _hop = field_validator("hop")(role_pair)


def _habit_verdict(hop: str, evidence: Evidence, expected: str,
                   faults: Callable[[Dialog], list[str]], fault: str) -> Verdict:
    """Fails on the first SMTP conversation of the hop whose dialog has faults."""
    found = [c for c in evidence.speaking(hop, SMTP) if c.dialog is not None]
    if not found:
        return hop_verdict(False, hop, expected, "no SMTP conversation")
    for conversation in found:
        assert conversation.dialog is not None
        labels = faults(conversation.dialog)
        if labels:
            return hop_verdict(False, hop, expected, f"{fault} {', '.join(labels[:5])} "
                                                     f"({endpoints(conversation)})")
    return hop_verdict(True, hop, "", f"{expected} in {len(found)} SMTP conversation(s)")


class LineEndingsCheck(_ClientHabitCheck):
    """Every SMTP client line on the hop, commands and message content, ends in CRLF;
    a bare LF fails naming the command (or "message")."""

    type: Literal["line_endings"]


@check_type(LineEndingsCheck)
def grade_line_endings(check: LineEndingsCheck, evidence: Evidence) -> Verdict:
    """No client line of an SMTP conversation on the hop ends in a bare LF."""
    return _habit_verdict(check.hop, evidence, "CRLF line endings",
                          lambda dialog: dialog.bare_lf, "bare LF after")


class WaitsForRepliesCheck(_ClientHabitCheck):
    """The SMTP client on the hop waits for each reply before sending on (the message
    waits for 354), except where the server offered PIPELINING. Fails naming the first
    commands sent early."""

    type: Literal["waits_for_replies"]


@check_type(WaitsForRepliesCheck)
def grade_waits_for_replies(check: WaitsForRepliesCheck, evidence: Evidence) -> Verdict:
    """No client step of an SMTP conversation on the hop was sent before its reply."""
    return _habit_verdict(check.hop, evidence, "each reply awaited",
                          lambda dialog: [p.command for p in dialog.pipelined if not p.allowed],
                          "sent before the reply it awaited:")
