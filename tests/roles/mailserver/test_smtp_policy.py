# SMTP policy on ports 25 and 587: extensions, several transactions, postmaster, the
# trusted LAN, sender = login, AUTH throttling, control characters, headers the server
# adds, mail loops, and the limits (recipients, connections, idle clients).
from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import AsyncIterator

import pytest

from labctl.model import INTERNET
from labctl.model.options import LabOptions
from roles.mailserver.server import MailServer
from tests.conftest import TEST_PLAN
from tests.roles.conftest import StartServer, wait_until

from .submission import ALICE, ALICE_PC, BOB

OUTSIDER = str(ipaddress.ip_network(TEST_PLAN.subnet(INTERNET))[99])  # no role's address
MESSAGE = b"From: <x@example.org>\r\nSubject: policy\r\n\r\nhello\r\n"


class Dialog:
    """A raw SMTP client: send a line, read the whole reply (all its lines)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, address: tuple[str, int], source: str = ALICE_PC) -> Dialog:
        reader, writer = await asyncio.open_connection(*address, local_addr=(source, 0))
        return cls(reader, writer)

    async def reply(self) -> bytes:
        lines = []
        while True:
            line = await asyncio.wait_for(self.reader.readline(), 10)
            lines.append(line)
            if len(line) < 4 or line[3:4] != b"-":
                return b"".join(lines)

    async def say(self, line: bytes) -> bytes:
        self.writer.write(line + b"\r\n")
        return await self.reply()

    async def transaction(self, mail_from: str, rcpts: list[str], data: bytes) -> list[bytes]:
        replies = [await self.say(f"MAIL FROM:<{mail_from}>".encode())]
        replies += [await self.say(f"RCPT TO:<{r}>".encode()) for r in rcpts]
        replies.append(await self.say(b"DATA"))
        self.writer.write(data + b".\r\n")
        replies.append(await self.reply())
        return replies

    def close(self) -> None:
        self.writer.close()


@pytest.fixture
async def dialogs() -> AsyncIterator[list[Dialog]]:
    opened: list[Dialog] = []
    yield opened
    for dialog in opened:
        dialog.close()


async def dialog_with(server: MailServer, service: str, opened: list[Dialog],
                      source: str = ALICE_PC, greet: bool = True) -> Dialog:
    dialog = await Dialog.open(server.address(service), source)
    opened.append(dialog)
    if greet:
        assert (await dialog.reply()).startswith(b"220 ")
        assert (await dialog.say(b"EHLO client.example")).startswith(b"250-")
    return dialog


async def logged_in(server: MailServer, opened: list[Dialog]) -> Dialog:
    dialog = await dialog_with(server, "submission", opened)
    assert (await dialog.say(b"AUTH PLAIN AGFsaWNlAGFsaWNlLXB3")).startswith(b"235 ")
    return dialog


async def test_ehlo_advertises_the_extensions(start_server: StartServer,
                                              dialogs: list[Dialog]) -> None:
    server = await start_server("sender-mta")
    for service, extra in (("smtp", []), ("submission", [b"250 AUTH PLAIN LOGIN\r\n"])):
        dialog = await dialog_with(server, service, dialogs, greet=False)
        await dialog.reply()
        lines = (await dialog.say(b"EHLO client.example")).splitlines(keepends=True)
        assert lines[0] == b"250-mail.crepes.fr\r\n"
        features = {line[4:].split()[0] for line in lines[1:]}
        assert {b"PIPELINING", b"SIZE", b"8BITMIME", b"ENHANCEDSTATUSCODES"} <= features
        assert (b"AUTH" in features) == bool(extra)


async def test_several_transactions_on_one_connection(start_server: StartServer,
                                                      dialogs: list[Dialog]) -> None:
    server = await start_server("receiver-mta")
    dialog = await dialog_with(server, "smtp", dialogs)
    assert (await dialog.say(b"MAIL FROM:<a@example.org>")).startswith(b"250 ")
    assert (await dialog.say(b"RCPT TO:<bob@hamburger.edu>")).startswith(b"250 ")
    assert (await dialog.say(b"RSET")).startswith(b"250 ")
    for sender in ("a@example.org", "b@example.org"):
        replies = await dialog.transaction(sender, [BOB], MESSAGE)
        assert [r[:3] for r in replies] == [b"250", b"250", b"354", b"250"]
    assert len(server.mailboxes.list(BOB)) == 2


async def test_postmaster_of_the_domain_reaches_its_first_user(start_server: StartServer,
                                                               dialogs: list[Dialog]) -> None:
    server = await start_server("receiver-mta")
    dialog = await dialog_with(server, "smtp", dialogs)
    replies = await dialog.transaction("a@example.org", ["postmaster@hamburger.edu",
                                                         "Postmaster@HAMBURGER.EDU"], MESSAGE)
    assert [r[:3] for r in replies] == [b"250", b"250", b"250", b"354", b"250"]
    assert len(server.mailboxes.list(BOB)) == 2
    assert (await dialog.say(b"MAIL FROM:<a@example.org>"))[:3] == b"250"
    assert (await dialog.say(b"RCPT TO:<postmaster@crepes.fr>"))[:3] == b"554"


@pytest.mark.parametrize(("trust_lan", "source", "expected"), [
    (False, ALICE_PC, b"554 5.7.1"), (True, ALICE_PC, b"250 2.1.5"),
    (True, OUTSIDER, b"554 5.7.1"),  # the internet is never trusted
])
async def test_port_25_relays_for_the_lan_only_when_trusted(
        start_server: StartServer, dialogs: list[Dialog], trust_lan: bool, source: str,
        expected: bytes) -> None:
    server = await start_server("sender-mta", options=LabOptions(trust_lan=trust_lan))
    dialog = await dialog_with(server, "smtp", dialogs, source=source)
    assert (await dialog.say(b"MAIL FROM:<alice@crepes.fr>"))[:3] == b"250"
    assert (await dialog.say(b"RCPT TO:<bob@hamburger.edu>")).startswith(expected)


@pytest.mark.parametrize(("match", "expected"), [(True, b"553 5.7.1"), (False, b"250 2.1.0")])
async def test_submission_sender_must_be_the_login(
        start_server: StartServer, dialogs: list[Dialog], match: bool, expected: bytes) -> None:
    server = await start_server("sender-mta", options=LabOptions(sender_login_match=match))
    dialog = await logged_in(server, dialogs)
    assert (await dialog.say(b"MAIL FROM:<bob@hamburger.edu>")).startswith(expected)
    assert (await dialog.say(b"RSET"))[:3] == b"250"
    assert (await dialog.say(b"MAIL FROM:<Alice@Crepes.fr>"))[:3] == b"250"


async def test_failed_auth_is_delayed_without_blocking_others_and_closed_after_3(
        start_server: StartServer, dialogs: list[Dialog]) -> None:
    server = await start_server("sender-mta", auth_failure_delay_seconds=0.5)
    slow = await dialog_with(server, "submission", dialogs)
    wrong = b"AUTH PLAIN AGFsaWNlAHdyb25n"  # alice / wrong
    first = asyncio.create_task(slow.say(wrong))
    other = await dialog_with(server, "submission", dialogs)
    assert (await other.say(b"NOOP"))[:3] == b"250"
    assert not first.done()  # still held back by its 0.5 s delay
    assert (await first).startswith(b"535 5.7.8")
    assert (await slow.say(wrong)).startswith(b"535 5.7.8")
    assert (await slow.say(wrong)).startswith(b"421 4.7.0")
    assert await slow.reader.read() == b""  # closed by the server


async def test_control_characters_never_reach_headers_or_logs(
        start_server: StartServer, dialogs: list[Dialog],
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="mailserver")
    server = await start_server("receiver-mta")
    dialog = await dialog_with(server, "smtp", dialogs)
    assert (await dialog.say(b"EHLO evil\x1b[31m.example"))[:1] == b"5"
    assert (await dialog.say(b"MAIL FROM:<a\x00b@example.org>"))[:1] == b"5"
    assert (await dialog.say(b"MAIL FROM:<\xc3\xa9lise@example.org>"))[:1] == b"5"
    replies = await dialog.transaction("a@example.org", [BOB], MESSAGE)
    assert replies[-1][:3] == b"250"
    (stored,) = server.mailboxes.list(BOB)
    head = server.mailboxes.read(BOB, stored.id).split(b"\r\n\r\n")[0]
    assert f"from client.example (unknown [{ALICE_PC}])".encode() in head
    for record in caplog.records:
        text = record.getMessage()
        assert text.isprintable() and "\x1b" not in text, text


async def test_message_id_is_added_on_submission_only(start_server: StartServer,
                                                      dialogs: list[Dialog]) -> None:
    server = await start_server("sender-mta")
    submission = await logged_in(server, dialogs)
    replies = await submission.transaction(ALICE, [ALICE], MESSAGE)
    queue_id = replies[-1].split(b"queued as ")[1].strip()
    mx = await dialog_with(server, "smtp", dialogs)
    assert (await mx.transaction("x@example.org", [ALICE], MESSAGE))[-1][:3] == b"250"
    submitted, relayed = (server.mailboxes.read(ALICE, m.id) for m in server.mailboxes.list(ALICE))
    assert f"Message-ID: <{queue_id.decode()}@mail.crepes.fr>\r\n".encode() in submitted
    assert f"with ESMTPA id {queue_id.decode()}\r\n".encode() in submitted
    assert b"Message-ID:" not in relayed


@pytest.mark.parametrize(("hops", "expected"), [(30, b"250"), (31, b"554 5.4.6")])
async def test_a_mail_loop_is_refused(start_server: StartServer, dialogs: list[Dialog],
                                      hops: int, expected: bytes) -> None:
    server = await start_server("receiver-mta")
    dialog = await dialog_with(server, "smtp", dialogs)
    looped = b"Received: from a by b; Thu, 1 Jan 2026 00:00:00 +0000\r\n" * hops + MESSAGE
    assert (await dialog.transaction("a@example.org", [BOB], looped))[-1].startswith(expected)


async def test_too_many_recipients_get_452(start_server: StartServer,
                                           dialogs: list[Dialog]) -> None:
    server = await start_server("receiver-mta", max_recipients=3)
    dialog = await dialog_with(server, "smtp", dialogs)
    assert (await dialog.say(b"MAIL FROM:<a@example.org>"))[:3] == b"250"
    replies = [await dialog.say(b"RCPT TO:<bob@hamburger.edu>") for _ in range(4)]
    assert [r[:9] for r in replies] == [b"250 2.1.5"] * 3 + [b"452 4.5.3"]


async def test_connections_over_the_limit_get_421_and_the_others_are_served(
        start_server: StartServer, dialogs: list[Dialog]) -> None:
    server = await start_server("receiver-mta", max_connections=2)
    first = await dialog_with(server, "smtp", dialogs)
    second = await dialog_with(server, "submission", dialogs)
    extra = await dialog_with(server, "smtp", dialogs, greet=False)
    assert (await extra.reply()).startswith(b"421 4.7.0")
    assert (await first.say(b"NOOP"))[:3] == b"250" and (await second.say(b"NOOP"))[:3] == b"250"
    assert (await first.say(b"QUIT"))[:3] == b"221"
    await wait_until(lambda: server.smtp_connections == 1)
    again = await dialog_with(server, "smtp", dialogs)  # a slot is free again
    assert (await again.say(b"NOOP"))[:3] == b"250"


async def test_an_idle_client_gets_421(start_server: StartServer,
                                       dialogs: list[Dialog]) -> None:
    server = await start_server("receiver-mta", idle_timeout_seconds=0.3)
    dialog = await dialog_with(server, "smtp", dialogs)
    assert (await dialog.reply()).startswith(b"421 4.4.2")


async def test_unterminated_data_then_close_stores_nothing(start_server: StartServer,
                                                           dialogs: list[Dialog]) -> None:
    server = await start_server("receiver-mta")
    dialog = await dialog_with(server, "smtp", dialogs)
    assert (await dialog.say(b"MAIL FROM:<a@example.org>"))[:3] == b"250"
    assert (await dialog.say(b"RCPT TO:<bob@hamburger.edu>"))[:3] == b"250"
    assert (await dialog.say(b"DATA"))[:3] == b"354"
    dialog.writer.write(MESSAGE)  # no final "."
    await dialog.writer.drain()
    dialog.close()
    await wait_until(lambda: server.smtp_connections == 0)
    assert server.mailboxes.list(BOB) == [] and server.queue.messages() == []

