# The IMAP server seen by raw clients: IDLE woken by mail delivered over SMTP and by
# other sessions' changes, two sessions on one folder learning of each other's changes
# only at the moments RFC 3501 allows, bad input answered without harming other
# clients, STARTTLS with the lab CA, the idle timeout, and what maillab refuses where
# Dovecot would not (protected folders, INBOX rename).
from __future__ import annotations

import asyncio
import dataclasses
import imaplib
import smtplib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from labctl.tls_ca import client_context
from roles.mailserver.mailbox_store import MaildirMailboxes
from roles.mailserver.server import MailServer
from roles.mailserver.storage import Flag
from tests.roles.conftest import StartServer, settings_for

BOB = "bob@hamburger.edu"
CLOSED = "<closed>"


class ImapLines:
    """A raw IMAP client: send a line, read response lines (no literals expected)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, server: MailServer, login: bool = True) -> ImapLines:
        client = cls(*await asyncio.open_connection(*server.address("imap")))
        assert (await client.line()).startswith("* OK [CAPABILITY IMAP4rev1 ")
        if login:
            assert (await client.command("L LOGIN bob bob-pw"))[-1].startswith("L OK")
        return client

    async def line(self) -> str:
        """One response line, CRLF stripped (CLOSED when the server closed)."""
        data = await asyncio.wait_for(self.reader.readline(), 10)
        return data.decode("utf-8", "replace").rstrip("\r\n") if data else CLOSED

    async def command(self, text: str | bytes, tag: str = "") -> list[str]:
        """Send one line; every response line up to the one tagged `tag` (by default the
        line's first word) or a `+`."""
        line = text.encode() if isinstance(text, str) else text
        self.writer.write(line + b"\r\n")
        tag = tag or line.split(b" ", 1)[0].decode("ascii", "replace")
        return await self.until(lambda got: got.startswith((f"{tag} ", "+")))

    async def until(self, last: Callable[[str], bool]) -> list[str]:
        """Lines up to the first one `last(line)` accepts."""
        lines: list[str] = []
        while True:
            got = await self.line()
            assert got != CLOSED, f"the server closed the connection after {lines}"
            lines.append(got)
            if last(got):
                return lines


def deliver(server: MailServer, *subjects: str) -> list[str]:
    return [server.mailboxes.deliver(BOB, f"Subject: {s}\r\n\r\n{s}\r\n".encode())
            for s in subjects]


async def test_idle_announces_mail_delivered_over_smtp(start_server: StartServer) -> None:
    server = await start_server("receiver-mta")
    client = await ImapLines.connect(server)
    assert "* 0 EXISTS" in await client.command("s SELECT INBOX")
    assert await client.command("i IDLE") == ["+ idling"]

    def send() -> None:
        with smtplib.SMTP(*server.address("smtp"), timeout=10) as smtp:
            smtp.sendmail("alice@crepes.fr", [BOB], b"Subject: news\r\n\r\nhot off the press\r\n")

    await asyncio.to_thread(send)
    assert await client.until(lambda line: "EXISTS" in line) == ["* 1 EXISTS"]
    assert await client.line() == "* 1 RECENT"
    assert await client.command("DONE", "i") == ["i OK IDLE completed"]
    fetched = await client.command("f FETCH 1 (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert fetched[0] == "* 1 FETCH (FLAGS (\\Recent) BODY[HEADER.FIELDS (SUBJECT)] {17}"


async def test_idle_announces_other_sessions_expunges_and_flags(
        start_server: StartServer) -> None:
    server = await start_server("receiver-mta")
    deliver(server, "one", "two", "three")
    idler, other = await ImapLines.connect(server), await ImapLines.connect(server)
    await idler.command("s SELECT INBOX")
    await other.command("s SELECT INBOX")
    assert await idler.command("i IDLE") == ["+ idling"]
    await other.command("a STORE 3 +FLAGS (\\Flagged)")
    assert await idler.line() == "* 3 FETCH (FLAGS (\\Flagged \\Recent))"
    await other.command("b STORE 1 +FLAGS.SILENT (\\Deleted)")
    await other.command("c EXPUNGE")
    lines = await idler.until(lambda line: "EXPUNGE" in line)
    assert lines[-1] == "* 1 EXPUNGE"
    assert (await idler.command("DONE", "i"))[-1] == "i OK IDLE completed"


async def test_two_sessions_see_changes_only_when_allowed(start_server: StartServer) -> None:
    server = await start_server("receiver-mta")
    deliver(server, "one", "two")
    first, second = await ImapLines.connect(server), await ImapLines.connect(server)
    selected = await first.command("s SELECT INBOX")
    assert "* 2 RECENT" in selected  # the first SELECT takes the new messages' \Recent
    assert "* 0 RECENT" in await second.command("s SELECT INBOX")
    assert await second.command("a STORE 1 +FLAGS.SILENT (\\Deleted)") == [
        "a OK STORE completed"]
    await second.command("b EXPUNGE")
    deliver(server, "three")
    # FETCH, STORE and SEARCH never announce an expunge (RFC 3501 7.4.1): the numbers
    # the first session knows still hold; new mail may be announced.
    fetched = await first.command("f FETCH 1:* (FLAGS)")
    assert fetched == ["* 1 FETCH (FLAGS (\\Recent))", "* 2 FETCH (FLAGS (\\Recent))",
                       "* 3 EXISTS", "* 3 RECENT", "f OK FETCH completed"]
    assert await first.command("g SEARCH ALL") == ["* SEARCH 1 2 3", "g OK SEARCH completed"]
    assert await first.command("n NOOP") == ["* 1 EXPUNGE", "n OK NOOP completed"]
    assert await first.command("h FETCH 1:* (UID)") == [
        "* 1 FETCH (UID 2)", "* 2 FETCH (UID 3)", "h OK FETCH completed"]
    await second.command("c STORE 1 +FLAGS (\\Answered)")
    assert await first.command("k CHECK") == ["* 1 FETCH (FLAGS (\\Answered \\Recent))",
                                              "k OK CHECK completed"]


async def test_noop_finds_mail_another_process_delivered(start_server: StartServer) -> None:
    server = await start_server("receiver-mta")
    client = await ImapLines.connect(server)
    assert "* 0 EXISTS" in await client.command("s SELECT INBOX")
    elsewhere = MaildirMailboxes(server.settings.data_dir / "mailboxes")  # no notification
    elsewhere.deliver(BOB, b"Subject: from afar\r\n\r\nhi\r\n")
    assert await client.command("n NOOP") == ["* 1 EXISTS", "* 1 RECENT", "n OK NOOP completed"]


async def test_bad_input_is_answered_and_others_are_still_served(
        start_server: StartServer) -> None:
    server = await start_server("receiver-mta")
    client = await ImapLines.connect(server)
    assert (await client.command(b"\x00\xff garbage", "*"))[-1].startswith("* BAD")
    assert (await client.command("x NOSUCH"))[-1] == "x BAD unknown command NOSUCH"
    refused = await client.command("a APPEND INBOX {999999999}")
    assert refused == ["a NO [TOOBIG] literal of 999999999 octets exceeds the 10485760-octet "
                       "limit for APPEND"]
    nested = "s SEARCH " + "(" * 40 + "ALL" + ")" * 40
    await client.command("z SELECT INBOX")
    assert (await client.command(nested))[-1].startswith("s BAD")
    assert await client.command("n NOOP") == ["n OK NOOP completed"]
    other = await ImapLines.connect(server)
    assert await other.command("n NOOP") == ["n OK NOOP completed"]
    too_big = await client.command("b APPEND INBOX {999999999+}", "*")
    assert too_big[0].startswith("* BYE [TOOBIG]")
    assert await client.line() == CLOSED
    assert await other.command("m NOOP") == ["m OK NOOP completed"]


async def test_authenticate_plain_and_failures_are_delayed(start_server: StartServer) -> None:
    server = await start_server("receiver-mta", auth_failure_delay_seconds=0.01)
    client = await ImapLines.connect(server, login=False)
    assert await client.command("a AUTHENTICATE PLAIN") == ["+ "]
    assert await client.command("AGJvYgB3cm9uZw==", "a") == [
        "a NO [AUTHENTICATIONFAILED] invalid user name or password"]
    assert (await client.command("b AUTHENTICATE PLAIN AGJvYgBib2ItcHc="))[0].startswith(
        "b OK [CAPABILITY IMAP4rev1 ")
    assert (await client.command("c NAMESPACE")) == ['* NAMESPACE (("" ".")) NIL NIL',
                                                   "c OK NAMESPACE completed"]


async def test_maillab_refuses_to_delete_or_rename_standard_folders(
        start_server: StartServer) -> None:
    server = await start_server("receiver-mta")
    client = await ImapLines.connect(server)
    assert (await client.command("a DELETE Trash"))[-1].startswith("a NO [CANNOT]")
    assert (await client.command("b RENAME INBOX Old"))[-1].startswith("b NO [CANNOT]")
    assert (await client.command("c DELETE INBOX"))[-1].startswith("c NO [CANNOT]")
    assert (await client.command("d STATUS Nowhere (MESSAGES)"))[-1].startswith(
        "d NO [NONEXISTENT]")
    assert server.mailboxes.folders(BOB) == ["INBOX", "Junk", "Sent", "Trash"]


async def test_examine_is_read_only(start_server: StartServer) -> None:
    server = await start_server("receiver-mta")
    deliver(server, "one")
    client = await ImapLines.connect(server)
    examined = await client.command("e EXAMINE INBOX")
    assert examined[-1] == "e OK [READ-ONLY] EXAMINE completed"
    await client.command("f FETCH 1 BODY[]")
    assert (await client.command("s STORE 1 +FLAGS (\\Seen)"))[-1].startswith("s NO [CANNOT]")
    assert [m.flags for m in server.mailboxes.list(BOB)] == [frozenset()]


async def test_idle_timeout_says_bye(start_server: StartServer) -> None:
    server = await start_server("receiver-mta", imap_idle_timeout_seconds=0.2)
    client = await ImapLines.connect(server)
    assert (await client.line()).startswith("* BYE ")
    assert await client.line() == CLOSED


async def test_server_stop_says_bye_to_a_client_in_idle(tmp_path: Path) -> None:
    server = MailServer(settings_for("receiver-mta", tmp_path))
    await server.start(control_agent=False)
    client = await ImapLines.connect(server)
    await client.command("s SELECT INBOX")
    assert await client.command("i IDLE") == ["+ idling"]
    await server.stop()
    assert await client.line() == "* BYE mail.hamburger.edu is shutting down"
    assert await client.line() == CLOSED


@pytest.fixture
async def tls_server(tmp_path: Path) -> AsyncIterator[MailServer]:
    settings = dataclasses.replace(settings_for("receiver-mta", tmp_path / "mta"),
                                   tls_dir=tmp_path / "tls")
    server = MailServer(settings)
    await server.start(control_agent=False)
    yield server
    await server.stop()


async def test_imaplib_starttls_with_the_lab_ca(tls_server: MailServer) -> None:
    tls_server.mailboxes.deliver(BOB, b"Subject: secret\r\n\r\nover TLS\r\n")
    context = client_context(tls_server.settings.tls_dir or Path())

    def session() -> bytes:
        client = imaplib.IMAP4(*tls_server.address("imap"), timeout=10)
        assert "STARTTLS" in client.capabilities
        client.starttls(context)
        assert "STARTTLS" not in client.capabilities
        client.login("bob", "bob-pw")
        client.select("INBOX")
        data = client.fetch("1", "(BODY[TEXT])")[1][0]
        client.logout()
        assert isinstance(data, tuple)
        return data[1]

    assert await asyncio.to_thread(session) == b"over TLS\r\n"
    assert [m.flags for m in tls_server.mailboxes.list(BOB)] == [frozenset({Flag.SEEN})]
