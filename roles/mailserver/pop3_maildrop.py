# A POP3 session's maildrop (RFC 1939): the user's INBOX as numbered at login.
#
# Messages are numbered 1..n once, when the session enters TRANSACTION; DELE only
# marks a number, RSET unmarks them all, and nothing on disk changes until update()
# (QUIT in TRANSACTION): then the marked messages are deleted and the retrieved ones
# flagged Seen. A session that ends any other way changes nothing. MaildropLocks
# lets one session at a time hold a mailbox (RFC 1939 section 8, [IN-USE]).
from __future__ import annotations

import logging
import threading

from labctl.protocols import pop3
from roles.mailserver.maildir_flags import Flag
from roles.mailserver.storage import Mailboxes, StoredMessage

log = logging.getLogger("mailserver")


class MaildropLocks:
    """The mailboxes a POP3 session holds right now, shared by a server's sessions."""

    def __init__(self) -> None:
        self._held: set[str] = set()
        self._guard = threading.Lock()

    def acquire(self, address: str) -> bool:
        """Take `address` for one session; False when another session holds it."""
        with self._guard:
            if address in self._held:
                return False
            self._held.add(address)
            return True

    def release(self, address: str) -> None:
        """Give `address` back (no-op when not held)."""
        with self._guard:
            self._held.discard(address)


class Maildrop:
    """One session's numbered view of a user's INBOX and its pending deletions."""

    def __init__(self, mailboxes: Mailboxes, address: str) -> None:
        self.mailboxes, self.address = mailboxes, address
        self.messages: list[StoredMessage] = mailboxes.list(address)
        self.uid_validity = mailboxes.uid_validity(address)
        self.deleted: set[int] = set()
        self.retrieved: set[int] = set()

    def live(self) -> list[tuple[int, StoredMessage]]:
        """(number, message) of every message not marked deleted."""
        return [(n, m) for n, m in enumerate(self.messages, 1) if n not in self.deleted]

    def octets(self) -> int:
        """The size of the live messages together."""
        return sum(message.size for _, message in self.live())

    def get(self, number: int) -> StoredMessage:
        """Message `number`; KeyError holding the -ERR reply saying why there is none."""
        if not 1 <= number <= len(self.messages):
            raise KeyError(pop3.replies.NO_SUCH_MESSAGE(number=number, count=len(self.messages)))
        if number in self.deleted:
            raise KeyError(pop3.replies.ALREADY_DELETED(number=number))
        return self.messages[number - 1]

    def unique_id(self, message: StoredMessage) -> str:
        """The UIDL of a message: its UID and the folder's UIDVALIDITY (dovecot's format)."""
        return f"{message.uid:08X}{self.uid_validity:08X}"

    def read(self, number: int, retrieve: bool = True) -> bytes:
        """The raw message `number` (with CRLF), retrieved (RETR, flagged Seen at UPDATE)
        or only looked at (TOP); KeyError holding the -ERR reply when it is gone."""
        message = self.get(number)
        try:
            data = self.mailboxes.read(self.address, message.id)
        except KeyError:
            raise KeyError(pop3.replies.MESSAGE_GONE(number=number)) from None
        if retrieve:
            self.retrieved.add(number)
        return data

    def update(self) -> int:
        """Apply the session's changes (UPDATE state); the number of messages not removed."""
        doomed = [self.messages[number - 1].id for number in sorted(self.deleted)]
        try:
            removed = set(self.mailboxes.delete_messages(self.address, doomed))
        except OSError as exc:
            log.error("pop3-delete-failed user=%s: %s", self.address, exc)
            return len(doomed)
        gone = [message_id for message_id in doomed if message_id not in removed]
        if gone:  # someone else removed them first: as good as deleted
            log.info("pop3-delete-gone user=%s ids=%s", self.address, ",".join(gone))
        seen = [self.messages[number - 1].id for number in sorted(self.retrieved - self.deleted)]
        try:
            self.mailboxes.change_flags(self.address, seen, {Flag.SEEN}, how="add")
        except OSError as exc:
            log.info("pop3-seen-skipped user=%s: %s", self.address, exc)
        log.info("pop3-update user=%s deleted=%d", self.address, len(doomed))
        return 0
