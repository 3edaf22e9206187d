# Real POP3 clients against an in-process mail server: Python's poplib, curl and
# fetchmail, downloading with keep and with delete; each test checks what is left on
# disk. Also: [IN-USE] for a second client, and a session that ends without QUIT
# (lost connection, idle autologout, server stop) deletes nothing and frees the mailbox.
from __future__ import annotations

import asyncio
import dataclasses
import poplib
import socket
from pathlib import Path

import pytest

from roles.mailserver.mailbox_store import MaildirMailboxes
from roles.mailserver.server import MailServer
from roles.mailserver.storage import Flag
from tests.peers.fetchmail import fetchmail as run_fetchmail
from tests.peers.tools import run
from tests.roles.conftest import StartServer, settings_for, wait_until

BOB, BOB_PW = "bob@hamburger.edu", "bob-pw"
DOTTED = b"Subject: dots\r\n\r\n.leading dot\r\n..two dots\r\nlast\r\n"


def deliver(server: MailServer, count: int) -> list[str]:
    return [server.mailboxes.deliver(BOB, f"Subject: note {n}\r\n\r\nbody {n}\r\n".encode())
            for n in range(count)]


def logged_in(address: tuple[str, int]) -> poplib.POP3:
    client = poplib.POP3(*address, timeout=10)
    client.user("bob")
    client.pass_(BOB_PW)
    return client


def download(address: tuple[str, int], delete: bool) -> tuple[list[bytes], list[bytes]]:
    """(UIDL lines, messages) of Bob's maildrop; DELE each message when asked."""
    client = logged_in(address)
    count, _ = client.stat()
    uids = client.uidl()[1]
    messages = []
    for number in range(1, count + 1):
        messages.append(b"\r\n".join(client.retr(number)[1]) + b"\r\n")
        if delete:
            client.dele(number)
    client.quit()
    return uids, messages


def files_on_disk(server: MailServer) -> list[str]:
    root = server.settings.data_dir / "mailboxes" / BOB
    return sorted(p.name.split(",")[0] for part in ("new", "cur") for p in (root / part).iterdir())


async def test_poplib_keep_then_delete(start_server: StartServer) -> None:
    server = await start_server("receiver-mta")
    ids = deliver(server, 2)
    uids, messages = await asyncio.to_thread(download, server.address("pop3"), False)
    assert messages == [f"Subject: note {n}\r\n\r\nbody {n}\r\n".encode() for n in range(2)]
    assert files_on_disk(server) == sorted(i.split(",")[0] for i in ids)
    assert {m.flags for m in server.mailboxes.list(BOB)} == {frozenset({Flag.SEEN})}
    again, _ = await asyncio.to_thread(download, server.address("pop3"), True)
    assert again == uids  # UIDL stable across sessions
    assert files_on_disk(server) == [] and server.mailboxes.list(BOB) == []


async def test_second_client_gets_in_use(start_server: StartServer) -> None:
    server = await start_server("receiver-mta")
    address = server.address("pop3")
    first = await asyncio.to_thread(logged_in, address)
    with pytest.raises(poplib.error_proto, match=r"-ERR \[IN-USE\]"):
        await asyncio.to_thread(logged_in, address)
    await asyncio.to_thread(first.quit)
    await asyncio.to_thread(lambda: logged_in(address).quit())


async def test_lost_connection_after_dele_deletes_nothing(start_server: StartServer) -> None:
    server = await start_server("receiver-mta")
    ids = deliver(server, 2)
    client = await asyncio.to_thread(logged_in, server.address("pop3"))
    await asyncio.to_thread(client.dele, 1)
    await asyncio.to_thread(client.dele, 2)
    client.sock.shutdown(socket.SHUT_RDWR)
    client.close()
    await wait_until(lambda: server.pop3_locks.acquire(BOB))  # the session gave it back
    server.pop3_locks.release(BOB)
    assert [m.id for m in server.mailboxes.list(BOB)] == ids


def closed_by_server(client: poplib.POP3) -> bool:
    """Block until the server closes the connection: True when it did so without a word."""
    return client.sock.recv(1024) == b""


async def test_idle_autologout_deletes_nothing_and_frees_the_mailbox(tmp_path: Path) -> None:
    settings = dataclasses.replace(settings_for("receiver-mta", tmp_path),
                                   pop3_idle_timeout_seconds=0.5)
    server = MailServer(settings)
    await server.start(control_agent=False)
    try:
        ids = deliver(server, 1)
        client = await asyncio.to_thread(logged_in, server.address("pop3"))
        await asyncio.to_thread(client.dele, 1)
        assert await asyncio.to_thread(closed_by_server, client)
        await asyncio.to_thread(lambda: logged_in(server.address("pop3")).quit())
        assert [m.id for m in server.mailboxes.list(BOB)] == ids
    finally:
        await server.stop()


async def test_server_stop_ends_sessions_without_update(start_server: StartServer) -> None:
    server = await start_server("receiver-mta")
    ids = deliver(server, 1)
    client = await asyncio.to_thread(logged_in, server.address("pop3"))
    await asyncio.to_thread(client.dele, 1)
    await server.stop()
    assert await asyncio.to_thread(closed_by_server, client)
    assert server.pop3_locks.acquire(BOB)
    assert [m.id for m in MaildirMailboxes(server.settings.data_dir / "mailboxes").list(BOB)] == ids


async def test_curl_lists_retrieves_a_dot_stuffed_message_and_deletes(
        start_server: StartServer) -> None:
    server = await start_server("receiver-mta")
    first = server.mailboxes.deliver(BOB, DOTTED)
    second = server.mailboxes.deliver(BOB, b"Subject: other\r\n\r\nx\r\n")
    host, port = server.address("pop3")
    url, user = f"pop3://{host}:{port}", ["--user", f"bob:{BOB_PW}"]
    listing = await asyncio.to_thread(run, ["curl", "-sS", f"{url}/", *user])
    assert listing.stdout == f"1 {len(DOTTED)}\r\n2 21\r\n".encode(), listing.stderr
    retrieved = await asyncio.to_thread(run, ["curl", "-sS", f"{url}/1", *user])
    assert retrieved.stdout == DOTTED, retrieved.stderr
    deleted = await asyncio.to_thread(run, ["curl", "-sS", f"{url}/1", "-X", "DELE", "-I", *user])
    assert deleted.returncode == 0, deleted.stderr
    assert [m.id for m in server.mailboxes.list(BOB)] == [second]
    assert first.split(",")[0] not in files_on_disk(server)


def fetchmail(home: Path, address: tuple[str, int], keep: bool) -> list[bytes]:
    """Run fetchmail over POP3 once for Bob; the messages it downloaded."""
    return run_fetchmail(home, address, "bob", BOB_PW, keep)


async def test_fetchmail_keep_then_delete(start_server: StartServer, tmp_path: Path) -> None:
    server = await start_server("receiver-mta")
    ids = [server.mailboxes.deliver(BOB, DOTTED), *deliver(server, 1)]
    address = server.address("pop3")
    kept = await asyncio.to_thread(fetchmail, tmp_path / "home", address, True)
    assert [b"Subject: dots" in m for m in kept].count(True) == 1 and len(kept) == 2
    assert b"\n.leading dot\n..two dots\n" in kept[0] + kept[1]  # dot-stuffing undone
    assert [m.id for m in server.mailboxes.list(BOB)] == ids
    again = await asyncio.to_thread(fetchmail, tmp_path / "home", address, True)
    assert again == []  # UIDL remembered: nothing new
    ids.append(deliver(server, 1)[0])
    fetched = await asyncio.to_thread(fetchmail, tmp_path / "home2", address, False)
    assert len(fetched) == 3
    assert server.mailboxes.list(BOB) == [] and files_on_disk(server) == []
