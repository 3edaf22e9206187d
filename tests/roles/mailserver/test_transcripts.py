# The dialogs in tests/data/transcripts replayed against the real mail server, line by line.
from __future__ import annotations

import codecs
import fnmatch
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.roles.conftest import StartServer
from tests.roles.mailserver.line_client import LineClient

TRANSCRIPTS = Path(__file__).parents[2] / "data" / "transcripts"


@dataclass
class Exchange:
    """One command (None for the greeting) and the reply lines expected for it."""

    command: bytes | None
    replies: list[str] = field(default_factory=list)


@dataclass
class Transcript:
    role: str
    service: str
    exchanges: list[Exchange]


def load(path: Path) -> Transcript:
    """Parse a transcript file (format: tests/data/transcripts/README.md)."""
    headers: dict[str, str] = {}
    exchanges: list[Exchange] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        key, _, value = line[2:].partition(":")
        if line.startswith("# ") and key in ("role", "service"):
            headers[key] = value.strip()
        elif line.startswith("C: "):
            exchanges.append(Exchange(codecs.escape_decode(line[3:].encode())[0]))
        elif line.startswith("S: "):
            if not exchanges:
                exchanges.append(Exchange(None))
            exchanges[-1].replies.append(line[3:])
        elif line and not line.startswith("#"):
            raise ValueError(f"{path.name}:{number}: not a C:, S: or # line: {line!r}")
    return Transcript(headers["role"], headers["service"], exchanges)


@pytest.mark.parametrize("name", sorted(p.name for p in TRANSCRIPTS.glob("*.txt")))
async def test_transcript(start_server: StartServer, name: str) -> None:
    transcript = load(TRANSCRIPTS / name)
    server = await start_server(transcript.role)
    client = await LineClient.connect(server, transcript.service, read_greeting=False)
    for exchange in transcript.exchanges:
        if exchange.command is None:
            reply = await client.read_reply()
        else:
            reply = await client.ask(exchange.command)
        got = reply.decode("utf-8", "backslashreplace").splitlines()
        expected = exchange.replies
        assert len(got) == len(expected) and all(
            fnmatch.fnmatchcase(line, pattern) for line, pattern in zip(got, expected, strict=True)
        ), f"{name}: after {exchange.command!r} expected {expected}, got {got}"
    await client.close()
