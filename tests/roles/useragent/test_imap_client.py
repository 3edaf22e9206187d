# The user agent's IMAP client against each IMAP server, Dovecot (serving a Maildir our
# mailbox store wrote) and maillab's own: folders, headers only, one MIME part, a byte
# range, moving, deleting, and IDLE woken by a delivery through our store.
from __future__ import annotations

import base64
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import pytest

from labctl.agent_contract import FetchOptions
from roles.mailserver.mailbox_store import MaildirMailboxes
from roles.mailserver.storage import Mailboxes
from roles.useragent.imap_client import ImapError, fetch_imap, section_of
from roles.useragent.mail_clients import Account, Endpoint
from tests.conftest import TEST_PLAN, wait_for
from tests.peers.dovecot import running_dovecot
from tests.peers.maillab_imap import running_maillab_imap

BOB = Account("bob@hamburger.edu", "bob-pw")
NETWORK = TEST_PLAN.shared_network("receiver-ua", "receiver-mta")
SERVER_HOST = TEST_PLAN.address("receiver-mta", NETWORK)
UA_HOST = TEST_PLAN.address("receiver-ua", NETWORK)


def with_attachment(subject: str) -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "alice@crepes.fr", BOB.address, subject
    message.set_content("Do you like ketchup?\n")
    message.add_attachment(b"pickles" * 10, maintype="application", subtype="octet-stream",
                           filename="pickles.bin")
    return message.as_bytes().replace(b"\n", b"\r\n")


@dataclass(frozen=True)
class ImapServer:
    """One running IMAP server for Bob, whichever it is."""

    endpoint: Endpoint
    store: Mailboxes  # the Maildir it serves
    idling: Callable[[], int]  # its sessions that will see a delivery in IDLE


@pytest.fixture(params=["dovecot", "maillab"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ImapServer]:
    if request.param == "dovecot":
        with running_dovecot({BOB.address: BOB.password}, SERVER_HOST) as dovecot:
            yield ImapServer(Endpoint(dovecot.host, dovecot.imap_port),
                             MaildirMailboxes(dovecot.mail), lambda: dovecot.sessions_in("IDLE"))
        return
    with running_maillab_imap(tmp_path, SERVER_HOST) as maillab:
        yield ImapServer(Endpoint(maillab.host, maillab.imap_port), maillab.store,
                         lambda: maillab.sessions_watching(BOB.address))


def fetch(server: ImapServer, **options: object) -> tuple[list[bytes], list[str] | None]:
    fetched = fetch_imap(server.endpoint, BOB, UA_HOST, FetchOptions.model_validate(options))
    return fetched.messages, fetched.folders


def test_folders_whole_messages_headers_parts_and_ranges(server: ImapServer) -> None:
    store = server.store
    raw = [with_attachment("first"), with_attachment("second")]
    for message in raw:
        store.deliver(BOB.address, message)
    store.create_folder(BOB.address, "Work.Plans")
    messages, folders = fetch(server, list_folders=True)
    assert messages == [store.read(BOB.address, m.id) for m in store.list(BOB.address)]
    assert folders is not None
    assert sorted(folders) == ["INBOX", "Junk", "Sent", "Trash", "Work", "Work.Plans"]
    headers, _ = fetch(server, headers_only=True)
    assert [h.endswith(b"\r\n\r\n") and b"Subject: first" in h for h in headers] == [True, False]
    (part_text, _), (attachment, _) = fetch(server, part="1"), fetch(server, part="2")
    assert part_text == [b"Do you like ketchup?\r\n"] * 2
    assert base64.b64decode(attachment[0]) == b"pickles" * 10
    ranged, _ = fetch(server, partial=(5, 10))
    assert ranged == [message[5:15] for message in messages]
    assert fetch(server, partial=(10**6, 10))[0] == [b"", b""]
    assert all(not m.flags for m in store.list(BOB.address))  # BODY.PEEK: nothing \Seen


def test_move_and_delete_change_our_maildir(server: ImapServer) -> None:
    store = server.store
    store.create_folder(BOB.address, "Archive")
    for n in range(3):
        store.deliver(BOB.address, with_attachment(f"m{n}"))
    moved, _ = fetch(server, move_to="Archive")
    assert len(moved) == 3
    assert store.list(BOB.address) == []
    assert [store.read(BOB.address, m.id, "Archive") for m in store.list(BOB.address, "Archive")] \
        == moved
    again, _ = fetch(server, folder="Archive", delete=True)
    assert again == moved
    assert store.list(BOB.address, "Archive") == []
    with pytest.raises(ImapError, match="NO"):
        fetch(server, folder="Nowhere")


def test_idle_is_woken_by_a_delivery_into_the_maildir(server: ImapServer) -> None:
    store = server.store
    store.deliver(BOB.address, with_attachment("before"))
    result: list[list[bytes]] = []
    fetcher = threading.Thread(target=lambda: result.append(fetch(server, idle_seconds=120)[0]))
    fetcher.start()
    wait_for(lambda: server.idling() == 1, "the client in IDLE")
    store.deliver(BOB.address, with_attachment("during IDLE"))
    fetcher.join(timeout=60)  # returns on the EXISTS, long before the 120 s IDLE ends
    assert not fetcher.is_alive()
    assert [b"Subject: during IDLE" in m for m in result[0]] == [False, True]


def test_idle_ends_when_its_time_is_up(server: ImapServer) -> None:
    messages, _ = fetch(server, idle_seconds=0.2)
    assert messages == []


def test_fetch_items_asked_for() -> None:
    assert section_of(FetchOptions()) == "BODY.PEEK[]"
    assert section_of(FetchOptions(headers_only=True, partial=(0, 100))) == \
        "BODY.PEEK[HEADER]<0.100>"
    assert section_of(FetchOptions(part="1.2")) == "BODY.PEEK[1.2]"
