# The control agent's mailbox routes on a real Maildir store: INBOX and folder
# listings with UID and flags, raw messages, and clear 404/422 errors for bad paths.
from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from roles.mailserver.control_agent import create_control_app
from roles.mailserver.delivery import MailRouter
from roles.mailserver.disk_queue import DiskQueue
from roles.mailserver.mailbox_store import MaildirMailboxes
from roles.mailserver.relay import RelayWorker
from roles.mailserver.settings import MailServerSettings
from roles.mailserver.storage import Flag
from tests.conftest import TEST_INSTANCE

BOB = "bob@hamburger.edu"
HELLO = b"Subject: Hello Bob\r\nMessage-ID: <m1@test>\r\n\r\nhi\r\n"


@pytest.fixture
def store(tmp_path: Path) -> MaildirMailboxes:
    return MaildirMailboxes(tmp_path / "mailboxes")


@pytest.fixture
def agent(tmp_path: Path, store: MaildirMailboxes,
          agents_admit_test_token: dict[str, str]) -> TestClient:
    settings = MailServerSettings.for_role("receiver-mta", "local", tmp_path,
                                         instance=TEST_INSTANCE)
    queue = DiskQueue(tmp_path / "queue")
    relay = RelayWorker(settings, queue, MailRouter(settings, queue, store))
    app = create_control_app(settings, queue, store, relay)
    return TestClient(app, headers=agents_admit_test_token)


def test_inbox_listing_and_raw_message(agent: TestClient, store: MaildirMailboxes) -> None:
    message_id = store.deliver(BOB, HELLO)
    store.set_flags(BOB, message_id, {Flag.SEEN, Flag.FLAGGED})
    assert agent.get(f"/mailboxes/{BOB}").json() == [{
        "id": message_id, "uid": 1, "size": len(HELLO), "flags": ["Flagged", "Seen"],
        "message_id": "<m1@test>", "subject": "Hello Bob"}]
    assert agent.get(f"/mailboxes/{BOB}/{message_id}").text == HELLO.decode()


def test_folders_and_folder_listings(agent: TestClient, store: MaildirMailboxes) -> None:
    junk = store.deliver(BOB, b"Subject: spam\r\n\r\nbuy\r\n", folder="Junk")
    store.create_folder(BOB, "Work.Plans")
    folders = agent.get(f"/mailboxes/{BOB}/folders").json()
    assert [(f["name"], f["messages"]) for f in folders] == [
        ("INBOX", 0), ("Junk", 1), ("Sent", 0), ("Trash", 0), ("Work.Plans", 0)]
    assert folders[1]["uid_validity"] == store.uid_validity(BOB, "Junk")
    listing = agent.get(f"/mailboxes/{BOB}/folders/Junk").json()
    assert [(m["id"], m["uid"], m["flags"], m["subject"]) for m in listing] == [
        (junk, 1, [], "spam")]
    assert agent.get(f"/mailboxes/{BOB}/folders/Work.Plans").json() == []
    assert agent.get(f"/mailboxes/{BOB}/folders/Junk/{junk}").text.startswith("Subject: spam")
    assert agent.get(f"/mailboxes/{BOB}/folders/inbox").json() == []


@pytest.mark.parametrize("address", ["bob%00@hamburger.edu", "bob%0A@hamburger.edu",
                                     "bob@hamburger.edu%7F", "alice@crepes.fr", "nobody",
                                     "..%00"])
def test_bad_mailbox_paths_are_404_with_a_detail(agent: TestClient, address: str) -> None:
    for path in (f"/mailboxes/{address}", f"/mailboxes/{address}/folders",
                 f"/mailboxes/{address}/folders/Junk", f"/mailboxes/{address}/1234.x"):
        response = agent.get(path)
        assert response.status_code == 404, (path, response.text)
        assert "no mailbox" in response.json()["detail"] and "receiver-mta" in response.text


@pytest.mark.parametrize(("path", "status", "detail"), [
    ("folders/Nope", 404, "no folder 'Nope' in mailbox bob@hamburger.edu"),
    ("folders/a%00b", 422, "invalid folder name 'a\\x00b': control character U+0000"),
    ("folders/a%0Ab", 422, "invalid folder name 'a\\nb': control character U+000A"),
    ("folders/a%7Fb", 422, "invalid folder name 'a\\x7fb': control character U+007F"),
    ("folders/a..b", 422, "invalid folder name 'a..b': empty hierarchy level"),
    ("folders/Nope/1234.x", 404, "no folder 'Nope' in mailbox bob@hamburger.edu"),
    ("folders/Junk/1234.x", 404, "no message 1234.x in folder Junk"),
    ("1234.x", 404, "no message 1234.x in folder INBOX"),
    ("1234%00x", 404, "not a valid message id: '1234\\x00x'"),
])
def test_bad_folders_and_messages_get_a_clear_error(
        agent: TestClient, path: str, status: int, detail: str) -> None:
    response = agent.get(f"/mailboxes/{BOB}/{path}")
    assert response.status_code == status, response.text
    assert response.json()["detail"].startswith(detail)
