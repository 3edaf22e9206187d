# The SMTP dialog of a conversation as a list of steps, for the scenario checks.
#
# A step is a client command (labelled by verb: "EHLO", "MAIL FROM", "RCPT TO", "DATA"…),
# a complete server reply (labelled by its code: "220", "354", "250"…; a multi-line reply
# is one step), the message sent after 354 (label "message") or the end-of-data line
# (label "."). Lines are parsed with the shared grammar in labctl.protocols.smtp_grammar;
# a line that does not parse becomes a problem note, so a broken dialog can still be
# graded. After a successful STARTTLS the rest is encrypted and is not interpreted.
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from labctl.analysis.results import Segment
from labctl.analysis.transcript import Line, printable, split_lines
from labctl.protocols.errors import ProtocolError
from labctl.protocols.smtp_grammar import parse_command, parse_reply_line

COMMAND, REPLY, MESSAGE, END_OF_DATA = "command", "reply", "message", "end-of-data"


@dataclass(frozen=True)
class SmtpStep:
    """One step of an SMTP dialog."""

    from_client: bool
    kind: str  # COMMAND | REPLY | MESSAGE | END_OF_DATA
    label: str  # "EHLO", "MAIL FROM", "250", "message", "."
    text: str  # the command argument, the reply text (lines joined by "\n"), or ""
    timestamp: float
    code: int | None = None  # replies only
    data: bytes = b""  # MESSAGE only: the message lines as sent (dot-stuffed, CRLF)


@dataclass
class SmtpDialog:
    """The steps of an SMTP conversation and the lines that could not be read."""

    steps: list[SmtpStep] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def labels(self) -> list[str]:
        """Step labels in order, e.g. ["220", "EHLO", "250", "MAIL FROM", ...]."""
        return [step.label for step in self.steps]

    def messages(self) -> list[bytes]:
        """The messages sent after 354, as on the wire."""
        return [step.data for step in self.steps if step.kind == MESSAGE]


def command_label(verb: str, argument: str) -> str:
    """MAIL and RCPT are labelled with their keyword ("MAIL FROM", "RCPT TO")."""
    keyword = {"MAIL": "FROM:", "RCPT": "TO:"}.get(verb)
    if keyword and argument.upper().startswith(keyword):
        return f"{verb} {keyword[:-1]}"
    return verb


class _DialogReader:
    """Walks the lines of both sides and turns them into steps."""

    def __init__(self) -> None:
        self.dialog = SmtpDialog()
        self.reply_lines: list[str] = []
        self.reply_code: int | None = None
        self.reply_time = 0.0
        self.message: list[bytes] | None = None  # lines of the body while after 354
        self.message_time = 0.0
        self.last_verb = ""
        self.encrypted = False

    def client_line(self, line: Line) -> None:
        if self.message is not None:
            if line.raw != b".":
                self.message.append(line.raw + b"\r\n")
                return
            data = b"".join(self.message)
            self.dialog.steps.append(SmtpStep(True, MESSAGE, "message", "", self.message_time,
                                              data=data))
            self.dialog.steps.append(SmtpStep(True, END_OF_DATA, ".", "", line.timestamp))
            self.message = None
            return
        try:
            command = parse_command(line.raw)
        except ProtocolError as error:
            self.dialog.problems.append(f"client line not an SMTP command: {error}")
            return
        self.last_verb = command.verb
        label = command_label(command.verb, command.argument)
        self.dialog.steps.append(SmtpStep(True, COMMAND, label, command.argument, line.timestamp))

    def server_line(self, line: Line) -> None:
        try:
            code, is_last, text = parse_reply_line(line.raw)
        except ProtocolError as error:
            self.dialog.problems.append(f"server line not an SMTP reply: {error}")
            return
        if not self.reply_lines:
            self.reply_code, self.reply_time = code, line.timestamp
        elif code != self.reply_code:
            self.dialog.problems.append(
                f"multi-line reply changes its code from {self.reply_code} to {code}")
        self.reply_lines.append(text)
        if is_last:
            self.dialog.steps.append(SmtpStep(False, REPLY, str(code), "\n".join(self.reply_lines),
                                              self.reply_time, code=code))
            self.reply_lines = []
            if code == 354:
                self.message, self.message_time = [], line.timestamp
            if code == 220 and self.last_verb == "STARTTLS":
                self.encrypted = True

    def read(self, lines: list[Line]) -> SmtpDialog:
        for line in lines:
            if self.encrypted:
                self.dialog.problems.append("the dialog continues encrypted after STARTTLS")
                break
            if not line.complete:
                who = "client" if line.from_client else "server"
                self.dialog.problems.append(
                    f"{who}'s last line has no line ending: {printable(line.raw)[:80]}")
            if line.from_client:
                self.client_line(line)
            else:
                self.server_line(line)
        if self.message is not None:
            self.dialog.problems.append("the message after 354 never ended with a '.' line")
        if self.reply_lines:
            self.dialog.problems.append(f"reply {self.reply_code} has no last line")
        return self.dialog


def extract_smtp_dialog(segments: Iterable[Segment]) -> SmtpDialog:
    """The SMTP steps of a conversation's segments (see the module comment)."""
    return _DialogReader().read(split_lines(segments))
