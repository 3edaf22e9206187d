# The SMTP dialog of a conversation, as steps, and the order the lecture says it must have.
#
# TODO(analysis): dialog_steps() derives the steps from Conversation.transcript lines
# ("C: MAIL FROM:<...>", "S: 250 ok", "C: .") with the shared grammar in
# labctl.protocols.smtp_grammar. Replace it by labctl.analysis's SMTP dialog extraction
# when that lands; missing_step() (the grading rule) stays here.
from __future__ import annotations

from dataclasses import dataclass

from labctl.protocols.errors import ProtocolError
from labctl.protocols.smtp_grammar import parse_command, parse_reply_line


@dataclass(frozen=True)
class DialogStep:
    """One step of an SMTP dialog: a client command ("MAIL FROM", ".") or a reply code."""

    from_client: bool
    token: str  # "EHLO", "MAIL FROM", "RCPT TO", "DATA", ".", "QUIT", ... or "250", "354", ...


@dataclass(frozen=True)
class Expected:
    """A step the dialog must contain; a reply must be the answer to the step before it."""

    tokens: frozenset[str]
    label: str
    reply: bool = False


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


def _command_token(text: str) -> str | None:
    """'MAIL FROM:<a@b>' -> 'MAIL FROM'; None when the line is not a command."""
    try:
        command = parse_command(text.encode("utf-8"))
    except ProtocolError:
        return None
    argument = command.argument.upper()
    if command.verb == "MAIL" and argument.startswith("FROM:"):
        return "MAIL FROM"
    if command.verb == "RCPT" and argument.startswith("TO:"):
        return "RCPT TO"
    return command.verb


def dialog_steps(transcript: list[str]) -> list[DialogStep]:
    """The commands and (final-line) reply codes of an SMTP transcript, message lines skipped."""
    steps: list[DialogStep] = []
    in_data = False
    for line in transcript:
        side, _, text = line.partition(": ")
        if side == "C":
            if in_data:
                if text.rstrip("\r\n") == ".":
                    steps.append(DialogStep(True, "."))
                    in_data = False
                continue
            token = _command_token(text)
            if token is not None:
                steps.append(DialogStep(True, token))
        elif side == "S":
            try:
                code, last, _ = parse_reply_line(text.encode("utf-8"))
            except ProtocolError:
                continue
            if last:
                steps.append(DialogStep(False, str(code)))
                after_data = bool(steps[:-1]) and steps[-2] == DialogStep(True, "DATA")
                in_data = in_data or (code == 354 and after_data)
    return steps


def missing_step(steps: list[DialogStep], expected: tuple[Expected, ...] = SERVER_DIALOG) -> (
    str | None
):
    """None when `steps` hold `expected` in order, else which step is missing or misplaced."""
    pos, previous = 0, "the connection opened"
    for want in expected:
        if want.reply:
            replies = [i for i in range(pos, len(steps)) if not steps[i].from_client]
            if not replies:
                return f"missing {want.label} (no reply after {previous})"
            got = steps[replies[0]].token
            if got not in want.tokens:
                return f"{previous} was answered with {got}, expected {want.label}"
            pos = replies[0] + 1
        else:
            found = [i for i in range(pos, len(steps))
                     if steps[i].from_client and steps[i].token in want.tokens]
            if not found:
                if any(s.from_client and s.token in want.tokens for s in steps[:pos]):
                    return f"{want.label} out of order: it comes before {previous}"
                return f"missing {want.label} after {previous}"
            pos = found[0] + 1
        previous = want.label
    return None
