# The user agent's IMAP client: imaplib (Python's own real client), bound to the UA's
# address like the POP3 client, doing what a FetchRequest with protocol "imap" asks:
# optionally LIST the folders, SELECT one (EXAMINE when nothing will change), wait
# with IDLE for new mail, UID FETCH each message's whole text, header, MIME part or a
# byte range of it (BODY.PEEK, so nothing becomes \Seen), then MOVE the messages
# (RFC 6851; a server without it answers BAD, reported as such) or mark them \Deleted
# and EXPUNGE.
# imaplib in Python 3.11 has no idle(): idle() below sends `tag IDLE`, reads untagged
# lines until one says EXISTS or the time is up, then sends DONE. It waits in select()
# on the socket, looking first at what imaplib has buffered (a non-blocking peek), so a
# timeout never breaks imaplib's reader.
from __future__ import annotations

import imaplib
import io
import re
import select
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from labctl.agent_contract import FetchOptions
from roles.useragent.mail_clients import Account, Endpoint

_LIST_LINE = re.compile(rb'^\((?P<flags>[^)]*)\) (?:"(?P<sep>[^"]*)"|NIL) (?P<name>.+)$')


class ImapError(Exception):
    """The IMAP server refused a command (its tagged NO/BAD) or broke the protocol."""


class BoundIMAP4(imaplib.IMAP4):
    """imaplib.IMAP4 that connects from a chosen source address."""

    def __init__(self, host: str, port: int, source_address: str, timeout: float) -> None:
        self._source_address = source_address
        super().__init__(host, port, timeout=timeout)

    def _create_socket(self, timeout: float | None) -> socket.socket:
        return socket.create_connection(
            (self.host, self.port), timeout, source_address=(self._source_address, 0)
        )


@dataclass(frozen=True)
class ImapFetched:
    messages: list[bytes]  # whole messages, or the header / part / range asked for
    folders: list[str] | None  # with list_folders


def login_name(account: Account) -> str:
    """The user name the lab's servers know an account by: its local part."""
    return account.address.split("@")[0]


def fetch_imap(server: Endpoint, account: Account, source: str, options: FetchOptions,
               timeout: float = 30) -> ImapFetched:
    """Do what `options` ask over IMAP (see the module header); the fetched bytes."""
    imap = BoundIMAP4(server.host, server.port, source, timeout)
    try:
        _ok(imap.login(login_name(account), account.password))
        folders = list_folders(imap) if options.list_folders else None
        changes = options.delete or options.move_to is not None
        _ok(imap.select(_quoted(options.folder), readonly=not changes))
        if options.idle_seconds is not None:
            idle(imap, options.idle_seconds)
        uids = _ok(imap.uid("SEARCH", "ALL"))[0].split()
        messages = [fetch_item(imap, uid, options) for uid in uids]
        uid_set = b",".join(uids).decode()
        if uids and options.move_to is not None:
            _ok(imap.uid("MOVE", uid_set, _quoted(options.move_to)))
        elif uids and options.delete:
            _ok(imap.uid("STORE", uid_set, "+FLAGS.SILENT", r"(\Deleted)"))
            _ok(imap.expunge())
        imap.logout()
    except (imaplib.IMAP4.error, OSError):
        imap.shutdown()
        raise
    return ImapFetched(messages, folders)


def section_of(options: FetchOptions) -> str:
    """The BODY.PEEK[...]<...> fetch item the options ask for."""
    section = "HEADER" if options.headers_only else options.part or ""
    partial = "" if options.partial is None else f"<{options.partial[0]}.{options.partial[1]}>"
    return f"BODY.PEEK[{section}]{partial}"


def fetch_item(imap: imaplib.IMAP4, uid: bytes, options: FetchOptions) -> bytes:
    """One message's requested bytes (empty when the server has none: NIL or "")."""
    data = _ok(imap.uid("FETCH", uid.decode(), f"({section_of(options)})"))
    literals = [item[1] for item in data if isinstance(item, tuple)]
    return literals[0] if literals else b""


def list_folders(imap: imaplib.IMAP4) -> list[str]:
    """Every folder's name (LIST "" "*"), in the server's order."""
    names = []
    for line in _ok(imap.list('""', "*")):
        if isinstance(line, tuple):  # a name sent as a literal
            names.append(line[1].decode("utf-8", "replace"))
            continue
        found = _LIST_LINE.match(line or b"")
        if found is None:
            raise ImapError(f"LIST answered a line that is not a folder: {line!r}")
        names.append(found["name"].strip(b'"').decode("utf-8", "replace"))
    return names


def idle(imap: imaplib.IMAP4, seconds: float) -> bool:
    """IDLE until the server reports EXISTS or `seconds` pass; True if new mail came."""
    tag: bytes = imap._new_tag()
    imap.send(tag + b" IDLE\r\n")
    continuation = imap.readline()
    if not continuation.startswith(b"+"):
        raise ImapError(f"IDLE refused: {continuation.decode('ascii', 'replace').strip()}")
    deadline = time.monotonic() + seconds
    arrived = False
    while not arrived:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not _line_ready(imap, remaining):
            break
        line = imap.readline()
        if not line:
            raise ImapError("the server closed the connection during IDLE")
        arrived = line.startswith(b"* ") and line.rstrip().upper().endswith(b" EXISTS")
    imap.send(b"DONE\r\n")
    while True:
        line = imap.readline()
        if not line:
            raise ImapError("the server closed the connection after IDLE")
        if line.startswith(tag + b" "):
            if not line[len(tag) + 1:].upper().startswith(b"OK"):
                raise ImapError(f"IDLE ended with {line.decode('ascii', 'replace').strip()}")
            return arrived


def _line_ready(imap: imaplib.IMAP4, timeout: float) -> bool:
    """True when a line is buffered or the socket turns readable within `timeout`."""
    sock = imap.sock
    previous = sock.gettimeout()
    sock.setblocking(False)
    try:
        buffered = cast(io.BufferedReader, imap.file).peek(1)
    except BlockingIOError:
        buffered = b""
    finally:
        sock.settimeout(previous)
    return bool(buffered) or bool(select.select([sock], [], [], timeout)[0])


def _quoted(name: str) -> str:
    """A folder name as an IMAP quoted string."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _ok(answer: tuple[str, Sequence[Any]]) -> list[Any]:
    """The data of a tagged OK; ImapError with the server's text otherwise."""
    status, data = answer
    if status != "OK":
        text = b" ".join(d for d in data if isinstance(d, bytes)).decode("utf-8", "replace")
        raise ImapError(f"{status} {text}".strip())
    return list(data)
