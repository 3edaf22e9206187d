# The POP3 policy, driven through the real sans-I/O machine in memory (no sockets):
# login (USER/PASS, APOP), [AUTH] and [IN-USE], the maildrop commands, and UPDATE,
# which alone deletes. Runs on the Maildir store.
from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from labctl.protocols import pop3
from labctl.protocols.shared_events import Command
from roles.mailserver.mailbox_store import MaildirMailboxes
from roles.mailserver.pop3_maildrop import READ_AHEAD_MESSAGES, MaildropLocks
from roles.mailserver.pop3_session import Pop3Session
from roles.mailserver.settings import MailServerSettings
from roles.mailserver.storage import Flag, Mailboxes
from tests.conftest import TEST_INSTANCE

BOB = "bob@hamburger.edu"
LOGIN = ["USER bob", "PASS bob-pw"]


class Client:
    """One POP3 connection: a session behind the real server state machine."""

    def __init__(self, settings: MailServerSettings, mailboxes: Mailboxes,
                 locks: MaildropLocks) -> None:
        self.session = Pop3Session(settings, "127.0.0.1", mailboxes, locks)
        self.machine = pop3.ServerConnection()
        self.greeting = self.machine.send(self.session.greeting())

    def send(self, *lines: str) -> list[bytes]:
        """Each command's full response (status line and any body), in order."""
        self.machine.receive_data("".join(f"{line}\r\n" for line in lines).encode())
        responses: list[bytes] = []
        while True:
            event = self.machine.next_event()
            if isinstance(event, pop3.NeedData | pop3.ConnectionClosed):
                return responses
            responses.append(self.machine.send(self.session.handle(event, self.machine.state)))

    def line(self, command: str) -> str:
        """The status line answering one command."""
        return self.send(command)[0].decode().split("\r\n")[0]


Connect = Callable[[], Client]


@pytest.fixture
def mailboxes(tmp_path: Path) -> Mailboxes:
    return MaildirMailboxes(tmp_path / "mb")


@pytest.fixture
def connect(tmp_path: Path, mailboxes: Mailboxes) -> Connect:
    """Factory: a new connection to one server (sessions share its mailbox locks)."""
    settings = MailServerSettings.for_role("receiver-mta", "local", tmp_path,
                                         instance=TEST_INSTANCE)
    locks = MaildropLocks()
    return lambda: Client(settings, mailboxes, locks)


def deliver(mailboxes: Mailboxes, *subjects: str) -> list[str]:
    return [mailboxes.deliver(BOB, f"Subject: {s}\r\n\r\nline 1\r\n.dot\r\nline 3\r\n".encode())
            for s in subjects]


def test_greeting_carries_an_apop_timestamp_and_capa_lists_capabilities(
        connect: Connect) -> None:
    client = connect()
    assert re.fullmatch(rb"\+OK mail\.hamburger\.edu POP3 maillab ready <\d+\.\d+\.[0-9a-f]+"
                        rb"@mail\.hamburger\.edu>\r\n", client.greeting)
    assert client.send("CAPA") == [b"+OK Capability list follows\r\nUSER\r\nTOP\r\nUIDL\r\n"
                                   b"PIPELINING\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\n"
                                   b"IMPLEMENTATION maillab\r\n.\r\n"]


def test_failed_logins_say_auth(connect: Connect) -> None:
    client = connect()
    assert client.send("USER bob", "PASS wrong")[1] == (
        b"-ERR [AUTH] invalid user name or password\r\n")
    assert client.send("USER nobody", "PASS bob-pw")[1].startswith(b"-ERR [AUTH] ")
    assert client.send("USER alice@crepes.fr", "PASS alice-pw")[1].startswith(b"-ERR [AUTH] ")
    assert client.line("STAT").startswith("-ERR")
    assert client.send(*LOGIN)[1].startswith(b"+OK")


def test_apop_with_the_lab_password_as_secret(connect: Connect) -> None:
    client = connect()
    timestamp = re.search(rb"<[^>]+>", client.greeting)
    assert timestamp is not None
    wrong = hashlib.md5(timestamp.group() + b"guess").hexdigest()
    assert client.line(f"APOP bob {wrong}") == "-ERR [AUTH] invalid user name or password"
    assert client.line("APOP bob").startswith("-ERR")
    right = hashlib.md5(timestamp.group() + b"bob-pw").hexdigest()
    assert client.line(f"APOP bob {right}") == "+OK maildrop has 0 messages (0 octets)"
    assert client.line("STAT") == "+OK 0 0"


def test_transaction_commands(connect: Connect, mailboxes: Mailboxes) -> None:
    deliver(mailboxes, "one", "two")
    client = connect()
    size = len(b"Subject: one\r\n\r\nline 1\r\n.dot\r\nline 3\r\n")
    assert client.send(*LOGIN)[1] == f"+OK maildrop has 2 messages ({2 * size} octets)\r\n".encode()
    assert client.line("STAT") == f"+OK 2 {2 * size}"
    assert client.send("LIST")[0] == f"+OK 2 messages\r\n1 {size}\r\n2 {size}\r\n.\r\n".encode()
    uidl = client.send("UIDL")[0].decode().split("\r\n")
    validity = mailboxes.uid_validity(BOB)
    assert uidl[1:3] == [f"1 00000001{validity:08X}", f"2 00000002{validity:08X}"]
    assert client.send("RETR 1")[0] == (f"+OK {size} octets\r\nSubject: one\r\n\r\nline 1\r\n"
                                        "..dot\r\nline 3\r\n.\r\n").encode()
    assert client.send("TOP 2 0")[0] == b"+OK top of message follows\r\nSubject: two\r\n\r\n.\r\n"
    assert client.send("TOP 2 1")[0].endswith(b"\r\n\r\nline 1\r\n.\r\n")
    assert client.line("DELE 1") == "+OK message 1 deleted"
    assert client.line("DELE 1") == "-ERR message 1 already deleted"
    assert client.line("RETR 1") == "-ERR message 1 already deleted"
    assert client.line("LIST 3") == "-ERR no message 3 (maildrop has 2)"
    assert client.line("STAT") == f"+OK 1 {size}"
    assert client.line("RSET").startswith("+OK maildrop has 2 messages")
    assert client.line("DELE 2") == "+OK message 2 deleted"
    assert client.line("NOOP") == "+OK"
    assert client.line("QUIT").startswith("+OK mail.hamburger.edu POP3 server signing off")
    (kept,) = mailboxes.list(BOB)
    assert kept.uid == 1 and kept.flags == {Flag.SEEN}  # retrieved, so Seen after UPDATE


def test_a_second_session_gets_in_use_until_the_first_ends(connect: Connect) -> None:
    first, second = connect(), connect()
    assert first.send(*LOGIN)[1].startswith(b"+OK")
    assert second.send(*LOGIN)[1] == (b"-ERR [IN-USE] mailbox bob@hamburger.edu is already in "
                                      b"use by another POP3 session\r\n")
    first.session.close()  # the connection dropped
    assert second.send(*LOGIN)[1].startswith(b"+OK")
    second.line("QUIT")
    assert connect().send(*LOGIN)[1].startswith(b"+OK")


def test_a_session_that_quit_cannot_free_the_next_sessions_lock(connect: Connect) -> None:
    first, second, third = connect(), connect(), connect()
    first.send(*LOGIN)
    first.line("QUIT")  # UPDATE gives the mailbox back...
    assert second.send(*LOGIN)[1].startswith(b"+OK")  # ...and the next session takes it
    first.session.close()  # then the first connection closes: the lock is second's
    assert third.send(*LOGIN)[1].startswith(b"-ERR [IN-USE]")


def test_nothing_changes_unless_quit_ends_the_transaction(
        connect: Connect, mailboxes: Mailboxes) -> None:
    ids = deliver(mailboxes, "one", "two")
    client = connect()
    client.send(*LOGIN, "RETR 1", "DELE 1", "DELE 2")
    client.session.close()  # dropped, timed out or stopped: no UPDATE
    assert [(m.id, m.flags) for m in mailboxes.list(BOB)] == [(i, frozenset()) for i in ids]
    again = connect()
    assert again.send(*LOGIN)[1].startswith(b"+OK maildrop has 2 messages")
    again.send("DELE 2", "QUIT")
    assert [m.id for m in mailboxes.list(BOB)] == ids[:1]


def test_uidl_is_stable_across_sessions(connect: Connect, mailboxes: Mailboxes) -> None:
    deliver(mailboxes, "one", "two", "three")
    first = connect()
    first.send(*LOGIN)
    before = first.send("UIDL")[0].decode().split("\r\n")[1:4]
    first.send("DELE 1", "QUIT")
    deliver(mailboxes, "four")
    second = connect()
    second.send(*LOGIN)
    after = second.send("UIDL")[0].decode().split("\r\n")[1:4]
    assert [line.split()[1] for line in after[:2]] == [line.split()[1] for line in before[1:]]
    assert after[2].split()[1] not in {line.split()[1] for line in before}


def test_a_download_in_order_reads_ahead_within_bounds(
        connect: Connect, mailboxes: Mailboxes) -> None:
    count = READ_AHEAD_MESSAGES + 8
    deliver(mailboxes, *(f"m{n}" for n in range(1, count + 1)))
    client = connect()
    client.send(*LOGIN, "DELE 3")
    retr = pop3.CommandReceived(Command("RETR", "2"))
    assert client.session.needs_disk(retr)  # nothing read yet
    client.send("RETR 1", "RETR 2")
    assert not client.session.needs_disk(pop3.CommandReceived(Command("RETR", "4")))
    assert client.session.needs_disk(pop3.CommandReceived(Command("RETR", "3")))  # deleted
    far = pop3.CommandReceived(Command("RETR", str(3 + READ_AHEAD_MESSAGES)))
    assert client.session.needs_disk(far)  # beyond READ_AHEAD_MESSAGES
    for number in range(4, count + 1):  # read ahead or not, each is the message asked for
        assert f"Subject: m{number}\r\n".encode() in client.send(f"RETR {number}")[0]
    assert client.line("RETR 3") == "-ERR message 3 already deleted"
    client.line("QUIT")
    assert sum(Flag.SEEN in m.flags for m in mailboxes.list(BOB)) == count - 1
