# The one exception the protocol grammar raises: a line that does not parse.
#
# Parsers raise ProtocolError; the server state machines catch it and turn it into
# a ProtocolErrorEvent, so broken traffic never crashes a server or the analyzer.
from __future__ import annotations


class ProtocolError(Exception):
    """A protocol line that does not follow the grammar; `line` holds the offending bytes."""

    def __init__(self, message: str, line: bytes = b"") -> None:
        shown = line[:80].decode("ascii", "backslashreplace")
        suffix = "..." if len(line) > 80 else ""
        super().__init__(f"{message} (line: {shown!r}{suffix})" if line else message)
        self.reason = message
        self.line = line
