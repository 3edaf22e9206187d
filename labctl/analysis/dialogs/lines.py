# The observer of last resort: a conversation no protocol observer reads, as lines.
#
# Each line (cut across segment boundaries) becomes one step, the client's as commands
# and the server's as replies, labelled by their first word, in capture order: enough
# for a transcript of any text protocol, with no facts and no matching of replies.
from __future__ import annotations

from collections.abc import Sequence

from labctl.analysis.dialog import COMMAND, REPLY, Dialog, Step
from labctl.analysis.dialogs.streams import Direction, Recorder, lines_of
from labctl.analysis.results import Segment


def observe_as(protocol: str, segments: Sequence[Segment]) -> Dialog:
    """The lines of both sides as steps of a Dialog of `protocol`."""
    out = Recorder(protocol)
    lines: list[tuple[int, bool, bytes, float]] = []
    unfinished: list[tuple[Direction, bytes, int]] = []
    for direction in (Direction(segments, True), Direction(segments, False)):
        offset = 0
        for line in lines_of(direction.data):
            last = offset + len(line) - 1
            if not line.endswith(b"\n"):
                unfinished.append((direction, line, offset))
            else:
                lines.append((direction.order_at(last), direction.from_client,
                              line.rstrip(b"\r\n"), direction.time_at(offset)))
            offset += len(line)
    for _, from_client, raw, timestamp in sorted(lines, key=lambda line: line[0]):
        label, _, text = raw.decode("utf-8", "surrogateescape").partition(" ")
        out.add(Step(from_client, COMMAND if from_client else REPLY, label, text, timestamp))
    for direction, line, offset in unfinished:
        out.unterminated(direction, line, offset)
    return out.dialog


def observe(segments: Sequence[Segment], transport: str = "tcp") -> Dialog:
    """An unidentified conversation's lines (protocol "unknown")."""
    return observe_as("unknown", segments)
