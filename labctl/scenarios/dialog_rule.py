# The grading rule of the smtp_dialog and dialog_sequence checks: a dialog holds an
# ordered sequence of commands and replies.
#
# The dialog's steps are those of the conversation's Dialog (labctl.analysis.dialog:
# commands labelled "EHLO", "MAIL FROM", ...; each complete reply labelled by its code;
# the message body as one "message" step; the end-of-data line as "."). This module only
# decides whether those steps hold the expected ones in order, and if not, names the
# first one missing. A scenario writes an expected step as its label, alternatives
# joined by "|" ("HELO|EHLO"); labels that are reply codes or status words are replies.
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from labctl.analysis import Step
from labctl.analysis.dialog import REPLY


@dataclass(frozen=True)
class Expected:
    """A step the dialog must contain; a reply must be the answer to the step before it."""

    labels: frozenset[str]
    name: str
    reply: bool = False


REPLY_WORDS = frozenset({"+OK", "-ERR", "OK", "NO", "BAD", "+"})  # POP3 and IMAP status


def _is_reply(label: str) -> bool:
    return label.isdigit() or label in REPLY_WORDS


def expected_step(text: str) -> Expected:
    """An expected step as a scenario writes it ("MAIL FROM", "250", "HELO|EHLO")."""
    labels = [" ".join(part.split()) for part in text.split("|")]
    if not all(labels):
        raise ValueError(f"{text!r}: an empty label (write labels like EHLO, 250, HELO|EHLO)")
    replies = [_is_reply(label) for label in labels]
    if any(replies) and not all(replies):
        raise ValueError(f"{text!r} mixes reply codes and commands")
    return Expected(frozenset(labels), " or ".join(labels), reply=all(replies))


# The server-to-server dialog of the lecture, in order.
SERVER_DIALOG: tuple[Expected, ...] = (
    Expected(frozenset({"220"}), "220", reply=True),
    Expected(frozenset({"HELO", "EHLO"}), "HELO or EHLO"),
    Expected(frozenset({"MAIL FROM"}), "MAIL FROM"),
    Expected(frozenset({"RCPT TO"}), "RCPT TO"),
    Expected(frozenset({"DATA"}), "DATA"),
    Expected(frozenset({"354"}), "354", reply=True),
    Expected(frozenset({"."}), 'the lone "."'),
    Expected(frozenset({"250"}), "250", reply=True),
    Expected(frozenset({"QUIT"}), "QUIT"),
    Expected(frozenset({"221"}), "221", reply=True),
)


def _next_reply(steps: Sequence[Step], start: int) -> int | None:
    return next((i for i in range(start, len(steps)) if steps[i].kind == REPLY), None)


def _next_command(steps: Sequence[Step], start: int, labels: frozenset[str]) -> int | None:
    """The next step that is no reply (a command, a payload such as a message, which
    the client sends in SMTP and the server in POP3, an end marker) with one of `labels`."""
    return next(
        (i for i in range(start, len(steps))
         if steps[i].kind != REPLY and steps[i].label in labels),
        None,
    )


def missing_step(
    steps: Sequence[Step], expected: tuple[Expected, ...] = SERVER_DIALOG
) -> str | None:
    """None when `steps` hold `expected` in order, else which step is missing or misplaced."""
    pos, previous = 0, "the connection opened"
    for want in expected:
        if want.reply:
            found = _next_reply(steps, pos)
            if found is None:
                return f"missing {want.name} (no reply after {previous})"
            if steps[found].label not in want.labels:
                return f"{previous} was answered with {steps[found].label}, expected {want.name}"
        else:
            found = _next_command(steps, pos, want.labels)
            if found is None:
                if _next_command(steps[:pos], 0, want.labels) is not None:
                    return f"{want.name} out of order: it comes before {previous}"
                return f"missing {want.name} after {previous}"
        pos, previous = found + 1, want.name
    return None
