# Lecture-style transcripts: a conversation's segments as "S: ..." / "C: ..." lines.
#
# Each direction is cut into lines across segment boundaries (a line, even the SMTP
# end-of-data ".", may arrive split over several packets), lines keep capture order.
# Non-printable bytes are shown escaped (\xNN, \t). Long SMTP message bodies (after
# 354) and POP3 RETR/TOP bodies are shortened to their first lines plus a
# "[... N more lines ...]" marker; the terminating "." line is always kept.
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from labctl.analysis.results import Segment
from labctl.model.topology import POP3, SMTP

MAX_BODY_LINES = 40


@dataclass(frozen=True)
class Line:
    """One line sent by one side, without its line ending."""

    from_client: bool
    raw: bytes
    timestamp: float
    complete: bool = True  # False: the stream ended before the line ending


def split_lines(segments: Iterable[Segment]) -> list[Line]:
    """Cut both directions into lines, in the capture order of each line's last byte."""
    buffers = {True: b"", False: b""}
    started = {True: 0.0, False: 0.0}
    lines: list[Line] = []
    for segment in segments:
        side = segment.from_client
        if not buffers[side]:
            started[side] = segment.timestamp
        buffers[side] += segment.data
        *complete, rest = buffers[side].split(b"\n")
        for raw in complete:
            lines.append(Line(side, raw.removesuffix(b"\r"), started[side]))
            started[side] = segment.timestamp
        buffers[side] = rest
    for side in (True, False):
        if buffers[side]:
            lines.append(Line(side, buffers[side], started[side], complete=False))
    return lines


def printable(raw: bytes) -> str:
    """The line as text: printable ASCII as is, tab as \\t, any other byte as \\xNN."""
    out: list[str] = []
    for byte in raw:
        if 0x20 <= byte < 0x7F:
            out.append(chr(byte))
        elif byte == 0x09:
            out.append("\\t")
        else:
            out.append(f"\\x{byte:02x}")
    return "".join(out)


def _opens_body(protocol: str, line: Line, last_client_verb: str) -> bool:
    if protocol == SMTP:
        return line.raw.startswith(b"354")
    if protocol == POP3:
        return last_client_verb in ("RETR", "TOP") and line.raw[:3].upper() == b"+OK"
    return False


def build_transcript(
    segments: Iterable[Segment], protocol: str, max_body_lines: int = MAX_BODY_LINES
) -> tuple[list[str], list[str]]:
    """(transcript lines, problem notes) for a conversation's segments."""
    transcript: list[str] = []
    problems: list[str] = []
    body_side: bool | None = None  # the side currently sending a message body
    body_lines = elided = 0
    last_client_verb = ""
    for line in split_lines(segments):
        prefix = "C: " if line.from_client else "S: "
        if not line.complete:
            who = "client" if line.from_client else "server"
            problems.append(f"{who}'s last line has no line ending: {printable(line.raw)[:80]}")
        if body_side is not None and line.from_client == body_side:
            if line.raw == b".":
                if elided:
                    transcript.append(f"{prefix}[... {elided} more lines ...]")
                transcript.append(f"{prefix}.")
                body_side = None
            elif body_lines < max_body_lines:
                transcript.append(prefix + printable(line.raw))
                body_lines += 1
            else:
                elided += 1
            continue
        transcript.append(prefix + printable(line.raw))
        if line.from_client:
            last_client_verb = line.raw.split(b" ", 1)[0].decode("ascii", "replace").upper()
        elif _opens_body(protocol, line, last_client_verb):
            body_side = protocol == SMTP  # SMTP: the client sends it; POP3: the server
            body_lines = elided = 0
    if body_side is not None:
        if elided:
            transcript.append(f"{'C' if body_side else 'S'}: [... {elided} more lines ...]")
        problems.append("the message body never ended with a '.' line")
    return transcript, problems
