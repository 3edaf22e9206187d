# What the observers' tests share: the in-process maillab servers of tests/roles, and an
# IMAP server to capture (maillab's and Dovecot's, each test run against both).
from collections.abc import Iterator
from pathlib import Path

import pytest

from roles.mailserver.mailbox_store import MaildirMailboxes
from roles.mailserver.storage import Mailboxes
from tests.conftest import TEST_PLAN
from tests.peers.dovecot import running_dovecot
from tests.peers.maillab_imap import running_maillab_imap
from tests.roles.conftest import lab_dns, start_server

__all__ = ["imap_server", "lab_dns", "start_server"]
NETWORK = TEST_PLAN.shared_network("receiver-ua", "receiver-mta")
HOST = TEST_PLAN.address("receiver-mta", NETWORK)  # where the IMAP servers listen
BOB, PASSWORD = "bob@hamburger.edu", "bob-pw"


@pytest.fixture(params=["maillab", "dovecot"])
def imap_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[int, Mailboxes]]:
    """(port, Bob's mailboxes) of maillab's IMAP server or Dovecot on HOST."""
    if request.param == "dovecot":
        with running_dovecot({BOB: PASSWORD}, HOST) as dovecot:
            yield dovecot.imap_port, MaildirMailboxes(dovecot.mail)
        return
    with running_maillab_imap(tmp_path, HOST) as maillab:
        yield maillab.imap_port, maillab.store
