# Lecture-style transcripts: a conversation's dialog as "S: ..." / "C: ..." lines.
#
# The transcript is rendered from the Dialog (labctl.analysis.dialog), never from the
# bytes: the observers already cut the lines, matched replies to commands and found where
# message bodies end. Steps appear in the dialog's (protocol) order. A command shows as
# its verb and argument (a DNS question as its type and name); an SMTP reply as the
# server writes it (smtp_grammar.Reply: one "250-" line per continuation); IMAP and HTTP
# commands and replies as sent, tag or start line and headers included (their observers
# keep the whole lines in Step.text); a continuation line (a SASL response, IDLE's DONE)
# as sent; any other reply as its label then its text lines; a message body (SMTP DATA
# or BDAT, POP3 RETR/TOP) as its first lines plus a "[... N more lines ...]" marker, its
# terminating "." line always kept; TLS as one bracketed line. Bytes that are not
# printable ASCII are shown escaped (\xNN, \t).
from __future__ import annotations

from labctl.analysis.dialog import COMMAND, CONTINUATION, END, PAYLOAD, REPLY, TLS, Dialog, Step
from labctl.analysis.dialogs.streams import printable
from labctl.model.topology import DNS, HTTP, IMAP, SMTP
from labctl.protocols.smtp_grammar import Reply

MAX_BODY_LINES = 40
VERBATIM = (IMAP, HTTP)  # protocols whose steps hold their lines as sent


def shown(text: str) -> str:
    """Decoded text as a transcript shows it (see printable)."""
    if text.isascii() and text.isprintable():  # ASCII printable is exactly \x20-\x7e
        return text
    return printable(text.encode("utf-8", "surrogateescape"))


def _body_lines(data: bytes, max_lines: int) -> list[str]:
    # Only the shown lines are cut out; the others are counted, never copied.
    last = data[data.rfind(b"\n") + 1:]
    total = data.count(b"\n") + (last not in (b"", b"\r"))  # an empty last line is no line
    head = data.split(b"\n", max_lines)[:min(max_lines, total)] if max_lines > 0 else []
    kept = [printable(line.removesuffix(b"\r")) for line in head]
    if total > max_lines:
        kept.append(f"[... {total - max_lines} more lines ...]")
    return kept


def _reply_lines(step: Step, protocol: str) -> list[str]:
    texts = step.text.split("\n")
    if protocol in VERBATIM:
        return [shown(text) for text in texts]
    if protocol == SMTP and step.label.isdigit():
        wire = Reply.of(int(step.label), *texts).to_bytes().decode("utf-8", "surrogateescape")
        return [shown(line) for line in wire.split("\r\n")[:-1]]
    first = f"{step.label} {texts[0]}" if texts[0] else step.label
    return [shown(first), *(shown(text) for text in texts[1:])]


def step_lines(step: Step, protocol: str, max_body_lines: int = MAX_BODY_LINES) -> list[str]:
    """The transcript lines of one step, without the "C: "/"S: " prefix."""
    if step.kind == CONTINUATION:
        return [shown(step.text)]
    if step.kind == COMMAND:
        if protocol in VERBATIM:
            return [shown(text) for text in step.text.split("\n")]
        if protocol == DNS:
            return [shown(f"{step.label} ({step.text})")]
        verb = step.label.split(" ", 1)[0]
        return [shown(f"{verb} {step.text}" if step.text else verb)]
    if step.kind == REPLY:
        return _reply_lines(step, protocol)
    if step.kind == PAYLOAD:
        return _body_lines(step.data, max_body_lines)
    if step.kind == END:
        return ["."]
    if step.kind == TLS:
        return [f"[TLS: {step.text}]"]
    return [printable(step.data.rstrip(b"\r\n"))]  # UNREADABLE: the bytes as they came


def build_transcript(dialog: Dialog, max_body_lines: int = MAX_BODY_LINES) -> list[str]:
    """The "C: ..." / "S: ..." lines of a dialog."""
    transcript: list[str] = []
    for step in dialog.steps:
        prefix = "C: " if step.from_client else "S: "
        transcript += [prefix + line for line in step_lines(step, dialog.protocol,
                                                            max_body_lines)]
    return transcript
