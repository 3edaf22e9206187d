# Check types about how an SMTP client behaves on the wire, the habits a hand-written
# client gets wrong: lines ended by CRLF (not a bare LF), and waiting for each reply
# before the next command unless the server offered PIPELINING (RFC 2920). The SMTP
# observer records both facts on the Dialog (bare_lf, early), from the capture order.
from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from pydantic import field_validator

from labctl.analysis.dialog import Dialog
from labctl.model import SMTP
from labctl.scenarios.checks.base import CheckSpec, Verdict, check_type, hop_verdict
from labctl.scenarios.checks.evidence import Evidence
from labctl.scenarios.checks.hops import endpoints
from labctl.scenarios.fields import role_pair


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
                          lambda dialog: dialog.early, "sent before the reply it awaited:")
