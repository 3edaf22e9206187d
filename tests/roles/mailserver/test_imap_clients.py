# Real IMAP clients against an in-process mail server: curl (IMAP URLs, RFC 5092: a
# message by UID, a section, a partial range, LIST, SEARCH; curl reads without PEEK, so
# what it reads becomes \Seen), s-nail (folders, copy to another folder, headers) and
# fetchmail (keep, then delete); each test checks the store.
from __future__ import annotations

import asyncio
from pathlib import Path

from roles.mailserver.server import MailServer
from roles.mailserver.storage import Flag
from tests.peers.fetchmail import fetchmail as run_fetchmail
from tests.peers.tools import run
from tests.roles.conftest import StartServer
from tests.roles.mailserver.test_imap_imaplib import MULTIPART

BOB, BOB_PW = "bob@hamburger.edu", "bob-pw"
PLAIN = b"From: alice@crepes.fr\r\nSubject: plain\r\n\r\nJust text.\r\n"


def curl(server: MailServer, path: str, *options: str) -> bytes:
    """curl's output for imap://HOST:PORT/<path> as Bob."""
    host, port = server.address("imap")
    result = run(["curl", "-sS", "--max-time", "20", "-u", f"bob:{BOB_PW}", *options,
                  f"imap://{host}:{port}/{path}"])
    assert result.returncode == 0, result.stderr
    return result.stdout


async def test_curl_fetches_by_uid_section_and_partial(start_server: StartServer) -> None:
    server = await start_server("receiver-mta")
    server.mailboxes.deliver(BOB, MULTIPART)
    server.mailboxes.deliver(BOB, PLAIN)
    partial = await asyncio.to_thread(curl, server, "INBOX/;UID=1/;SECTION=1/;PARTIAL=0.40")
    assert partial == b"The first part is this text, which is lo"
    assert await asyncio.to_thread(curl, server, "INBOX/;UID=2") == PLAIN
    assert await asyncio.to_thread(curl, server, "INBOX?SUBJECT%20plain") == b"* SEARCH 2\r\n"
    listing = await asyncio.to_thread(curl, server, "")
    assert b'* LIST (\\HasNoChildren) "." Trash\r\n' in listing
    assert [m.flags for m in server.mailboxes.list(BOB)] == [{Flag.SEEN}, {Flag.SEEN}]


def s_nail(home: Path, server: MailServer, commands: str) -> str:
    """s-nail's output for `commands`, reading Bob's INBOX over IMAP (no STARTTLS)."""
    host, port = server.address("imap")
    home.mkdir(parents=True, exist_ok=True)
    account = f"bob@{host}:{port}"
    result = run(["env", f"HOME={home}", "s-nail", "-n", "-#", "-S", "v15-compat",
                  "-S", f"password-{account}={BOB_PW}", "-S", f"folder=imap://{account}",
                  "-f", f"imap://{account}/INBOX"], stdin=commands.encode())
    assert result.returncode == 0, result.stderr
    return result.stdout.decode("utf-8", "replace")


async def test_s_nail_lists_folders_and_copies_a_message(start_server: StartServer,
                                                        tmp_path: Path) -> None:
    server = await start_server("receiver-mta")
    server.mailboxes.deliver(BOB, PLAIN)
    server.mailboxes.create_folder(BOB, "Archive")
    output = await asyncio.to_thread(s_nail, tmp_path / "home", server,
                                     "folders\ncopy 1 +Archive\nfolder +Archive\nheaders\nquit\n")
    assert sorted(output.splitlines()[:5]) == ["Archive", "INBOX", "Junk", "Sent", "Trash"]
    assert "plain" in output.splitlines()[-1]
    archived = server.mailboxes.list(BOB, "Archive")
    assert [server.mailboxes.read(BOB, m.id, "Archive") for m in archived] == [PLAIN]


def fetchmail(home: Path, address: tuple[str, int], keep: bool) -> list[bytes]:
    """Run fetchmail over IMAP once for Bob; the messages it downloaded."""
    return run_fetchmail(home, address, "bob", BOB_PW, keep, protocol="IMAP")


async def test_fetchmail_over_imap_keep_then_delete(start_server: StartServer,
                                                    tmp_path: Path) -> None:
    server = await start_server("receiver-mta")
    server.mailboxes.deliver(BOB, PLAIN)
    address = server.address("imap")
    kept = await asyncio.to_thread(fetchmail, tmp_path / "home", address, True)
    assert len(kept) == 1 and kept[0].endswith(b"Subject: plain\n\nJust text.\n")
    assert [m.flags for m in server.mailboxes.list(BOB)] == [{Flag.SEEN}]
    assert await asyncio.to_thread(fetchmail, tmp_path / "home", address, True) == []
    server.mailboxes.deliver(BOB, MULTIPART)
    fetched = await asyncio.to_thread(fetchmail, tmp_path / "home", address, False)
    assert len(fetched) == 1 and b"Subject: parts" in fetched[0]
    assert [m.flags for m in server.mailboxes.list(BOB)] == [{Flag.SEEN}]  # only new mail
