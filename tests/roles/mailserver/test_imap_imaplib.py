# Python's imaplib against an in-process mail server's IMAP service: login, folders,
# SELECT, FETCH (headers only, a partial of a part), STORE, SEARCH, COPY, MOVE, EXPUNGE,
# APPEND; what each command changed is checked on the store too.
from __future__ import annotations

import asyncio
import imaplib
import re

from roles.mailserver.server import MailServer
from roles.mailserver.storage import Flag
from tests.roles.conftest import StartServer

BOB, BOB_PW = "bob@hamburger.edu", "bob-pw"
MULTIPART = (b"From: Alice <alice@crepes.fr>\r\nTo: bob@hamburger.edu\r\nSubject: parts\r\n"
             b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n"
             b"--XX\r\nContent-Type: text/plain\r\n\r\n"
             b"The first part is this text, which is longer than forty bytes.\r\n"
             b"--XX\r\nContent-Type: text/plain\r\n\r\nsecond\r\n--XX--\r\n")


def deliver(server: MailServer, *subjects: str) -> list[str]:
    return [server.mailboxes.deliver(BOB, f"Subject: {s}\r\n\r\nbody of {s}\r\n".encode())
            for s in subjects]


def logged_in(server: MailServer) -> imaplib.IMAP4:
    client = imaplib.IMAP4(*server.address("imap"), timeout=10)
    status, _ = client.login("bob", BOB_PW)
    assert status == "OK"
    return client


def ok(answer: tuple[str, list[object]]) -> list[object]:
    status, data = answer
    assert status == "OK", (status, data)
    return data


async def test_login_select_fetch_headers_and_partial_of_a_part(
        start_server: StartServer) -> None:
    server = await start_server("receiver-mta")
    deliver(server, "one")
    server.mailboxes.deliver(BOB, MULTIPART)

    def session() -> None:
        client = logged_in(server)
        assert ok(client.select("INBOX")) == [b"2"]
        header = ok(client.fetch("1", "(BODY.PEEK[HEADER])"))
        assert header[0] == (b"1 (BODY[HEADER] {16}", b"Subject: one\r\n\r\n")
        partial = ok(client.uid("FETCH", "2", "(BODY.PEEK[1]<0.40>)"))
        assert isinstance(partial[0], tuple)
        assert partial[0][1] == b"The first part is this text, which is lo"
        assert len(partial[0][1]) == 40
        whole = ok(client.fetch("1", "(RFC822)"))
        assert whole[0][1] == b"Subject: one\r\n\r\nbody of one\r\n"
        assert b"\\Seen" in whole[1] or b"\\Seen" in whole[0][0]
        client.logout()

    await asyncio.to_thread(session)
    flags = {m.uid: m.flags for m in server.mailboxes.list(BOB)}
    assert flags == {1: frozenset({Flag.SEEN}), 2: frozenset()}


async def test_store_search_copy_move_expunge(start_server: StartServer) -> None:
    server = await start_server("receiver-mta")
    deliver(server, "one", "two", "three", "four")

    def session() -> None:
        client = logged_in(server)
        ok(client.select("INBOX"))
        stored = ok(client.store("2", "+FLAGS", "(\\Flagged \\Seen)"))
        assert stored == [b"2 (FLAGS (\\Flagged \\Seen \\Recent))"]
        assert ok(client.search(None, "FLAGGED")) == [b"2"]
        assert ok(client.search(None, "SUBJECT", "three")) == [b"3"]
        assert ok(client.uid("SEARCH", "UNSEEN")) == [b"1 3 4"]
        copied = ok(client.copy("1:2", "Trash"))
        assert re.match(rb"\[COPYUID \d+ 1:2 1:2\]", copied[0])
        ok(client.uid("MOVE", "3", "Junk"))
        assert client.response("EXPUNGE") == ("EXPUNGE", [b"3"])
        ok(client.store("1", "+FLAGS.SILENT", "(\\Deleted)"))
        assert ok(client.expunge()) == [b"1"]
        assert ok(client.fetch("1:*", "(UID)")) == [b"1 (UID 2)", b"2 (UID 4)"]
        ok(client.store("2", "+FLAGS.SILENT", "(\\Deleted)"))
        ok(client.close())  # expunges silently
        client.logout()

    await asyncio.to_thread(session)
    store = server.mailboxes
    assert [m.uid for m in store.list(BOB)] == [2]
    assert [m.uid for m in store.list(BOB, "Trash")] == [1, 2]
    assert [store.read(BOB, m.id, "Junk") for m in store.list(BOB, "Junk")] == [
        b"Subject: three\r\n\r\nbody of three\r\n"]


async def test_append_and_folders_last_beyond_the_session(start_server: StartServer) -> None:
    server = await start_server("receiver-mta")

    def first() -> None:
        client = logged_in(server)
        ok(client.create("Work"))
        ok(client.create("Work.Plans"))
        assert client.create("Work")[0] == "NO"
        appended = client.append("Work.Plans", "(\\Seen)", None, b"Subject: plan\r\n\r\nA\r\n")
        assert appended[0] == "OK"
        assert re.search(rb"\[APPENDUID \d+ 1\]", appended[1][0])
        missing = client.append("Nowhere", None, None, b"Subject: x\r\n\r\nx\r\n")
        assert missing[0] == "NO" and b"[TRYCREATE]" in missing[1][0]
        ok(client.rename("Work", "Projects"))
        client.logout()

    def second() -> None:
        client = logged_in(server)
        listing = ok(client.list('""', "*"))
        assert b'(\\HasChildren) "." Projects' in listing
        assert b'(\\HasNoChildren) "." Projects.Plans' in listing
        assert ok(client.select("Projects.Plans")) == [b"1"]
        assert ok(client.fetch("1", "(FLAGS BODY.PEEK[TEXT])"))[0] == (
            b"1 (FLAGS (\\Seen) BODY[TEXT] {3}", b"A\r\n")
        ok(client.close())
        assert client.delete("Projects")[0] == "NO"  # it holds a folder
        ok(client.delete("Projects.Plans"))
        ok(client.delete("Projects"))
        assert client.delete("Projects")[0] == "NO"
        client.logout()

    await asyncio.to_thread(first)
    await asyncio.to_thread(second)
    assert server.mailboxes.folders(BOB) == ["INBOX", "Junk", "Sent", "Trash"]


async def test_failed_login_is_refused_and_delayed(start_server: StartServer) -> None:
    server = await start_server("receiver-mta", auth_failure_delay_seconds=0.01)

    def session() -> None:
        client = imaplib.IMAP4(*server.address("imap"), timeout=10)
        try:
            client.login("bob", "wrong")
        except imaplib.IMAP4.error as exc:
            assert "AUTHENTICATIONFAILED" in str(exc)
        else:
            raise AssertionError("a wrong password logged in")
        status, _ = client.login("bob@hamburger.edu", BOB_PW)
        assert status == "OK"
        client.logout()

    await asyncio.to_thread(session)
