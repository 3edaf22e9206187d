# TLS in a dialog: where a stream turns to TLS (after STARTTLS/STLS, or from the start).
#
# Nothing after that point is readable, so it becomes one TLS step saying how many bytes
# each side sent encrypted, and Dialog.tls_from says when it began. A conversation whose
# client opens with a TLS ClientHello (implicit TLS, as on ports 465, 993, 995 or any
# other) is identified as TLS and observed here as that single step.
from __future__ import annotations

from collections.abc import Sequence

from labctl.analysis.dialog import TLS, Dialog, Step
from labctl.analysis.dialogs.streams import Direction, Recorder
from labctl.analysis.results import Segment
from labctl.model.topology import TLS as TLS_PROTOCOL


def record_tls(out: Recorder, client: Direction, client_from: int, server: Direction) -> None:
    """The client's bytes from `client_from` and the server's from its cursor on are TLS."""
    sizes = (len(client.data) - client_from, len(server.data) - server.pos)
    times = [direction.time_at(offset) for direction, offset, size
             in ((client, client_from, sizes[0]), (server, server.pos, sizes[1])) if size]
    steps = out.dialog.steps
    when = min(times) if times else (steps[-1].timestamp if steps else 0.0)
    out.dialog.tls_from = when
    out.add(Step(True, TLS, "TLS",
                 f"{sizes[0]} bytes from the client, {sizes[1]} from the server, encrypted",
                 when))
    server.pos = len(server.data)


def observe(segments: Sequence[Segment], transport: str = "tcp") -> Dialog:
    """A conversation that is TLS from its first byte: one TLS step."""
    out = Recorder(TLS_PROTOCOL)
    record_tls(out, Direction(segments, True), 0, Direction(segments, False))
    return out.dialog
