# Hand-written conversations for the observer tests: "C: "/"S: " chunks as segments.
from __future__ import annotations

from labctl.analysis.results import Segment


def wire(*chunks: str | bytes) -> list[Segment]:
    """One segment per chunk: "C: ..." from the client, "S: ..." from the server.

    Text chunks have "|" replaced by CRLF; bytes chunks start with b"C: " or b"S: " too.
    """
    segments = []
    for i, chunk in enumerate(chunks):
        raw = chunk if isinstance(chunk, bytes) else chunk.replace("|", "\r\n").encode()
        segments.append(Segment(raw.startswith(b"C: "), raw[3:], float(i)))
    return segments
