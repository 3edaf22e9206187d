# Run an IMAP command script against any server and answer its responses in a form
# two servers can be compared by: the differential tests run one script against
# Dovecot (tests/peers/dovecot.py) and against maillab's IMAP server.
#
# A script is a list of lines sent as they are (CRLF added). A line ending in a
# synchronizing literal `{N}` is sent, the server's `+` continuation awaited, and the
# next item is the literal's N bytes plus the rest of the command line (may be empty);
# after a non-synchronizing literal `{N+}` (LITERAL+) the next item follows at once.
# A command answered by a continuation (IDLE, AUTHENTICATE) lets the next item (DONE,
# a SASL line) go out before its tagged answer is read.
# Normalised responses keep what the protocol means and drop what servers word freely:
# untagged data as sent (literals inlined as `{N}` + bytes), status responses (tagged
# or not) as `TAG STATUS [CODE]` without their text, continuations as `+`; UIDVALIDITY
# values (also in APPENDUID/COPYUID), dates and times are masked.
from __future__ import annotations

import re
import socket
from collections.abc import Sequence

_LITERAL = re.compile(rb"\{(\d+)\+?\}\r\n$")
_NON_SYNCHRONIZING = re.compile(rb"\{\d+\+\}$")
_STATUS = re.compile(rb"^(\*|[A-Za-z0-9.]+) (OK|NO|BAD|BYE|PREAUTH)(?: (\[[^\]]*\]))?")
_MASKS = [
    (re.compile(r"(UIDVALIDITY|APPENDUID|COPYUID) \d+"), r"\1 <uidvalidity>"),
    (re.compile(r'"?\d{1,2}-[A-Z][a-z]{2}-\d{4} \d\d:\d\d:\d\d [+-]\d{4}"?'), "<date>"),
]


class ImapScriptError(Exception):
    """The server closed the connection before the script ended."""


class _Reader:
    """Reads whole responses (literals included) from a socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.file = sock.makefile("rb")

    def response(self) -> bytes:
        """One response: a line, with each literal it announces and the line's rest."""
        data = self.file.readline()
        if not data:
            raise ImapScriptError("the server closed the connection")
        while (found := _LITERAL.search(data)) is not None:
            data += self.file.read(int(found.group(1)))
            rest = self.file.readline()
            if not rest:
                raise ImapScriptError("the server closed the connection inside a literal")
            data += rest
        return data


def normalise(response: bytes) -> str:
    """A response as compared between servers (see the module header)."""
    status = _STATUS.match(response)
    if status is not None:
        tag, word, code = (part.decode("ascii", "replace") if part else "" for part in
                           status.groups())
        text = f"{tag} {word} {code}".rstrip()
    elif response.startswith(b"+"):
        text = "+"
    else:
        text = response.rstrip(b"\r\n").decode("utf-8", "replace")
    for pattern, mask in _MASKS:
        text = pattern.sub(mask, text)
    return text


def run_imap_script(host: str, port: int, script: Sequence[str | bytes],
                    source: str | None = None, timeout: float = 30) -> list[str]:
    """Send `script` to the IMAP server at host:port; every response normalised, in order
    (the greeting first)."""
    answers: list[str] = []
    with socket.create_connection((host, port), timeout,
                                  source_address=None if source is None else (source, 0)) as sock:
        reader = _Reader(sock)
        answers.append(normalise(reader.response()))
        tag = b""
        for item in script:
            line = item.encode("utf-8") if isinstance(item, str) else item
            sock.sendall(line + b"\r\n")
            if not tag:
                tag = line.split(b" ", 1)[0]
            if _NON_SYNCHRONIZING.search(line):
                continue  # LITERAL+: the literal follows without waiting
            while True:
                response = reader.response()
                answers.append(normalise(response))
                if response.startswith(b"+"):
                    break  # the next item continues this command
                if response.startswith(tag + b" "):
                    tag = b""
                    break
    return answers
