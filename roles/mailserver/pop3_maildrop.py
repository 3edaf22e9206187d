# A POP3 session's maildrop (RFC 1939): the user's INBOX as numbered at login.
#
# Messages are numbered 1..n once, when the session enters TRANSACTION; DELE only
# marks a number, RSET unmarks them all, and nothing on disk changes until update()
# (QUIT in TRANSACTION): then the marked messages are deleted and the retrieved ones
# flagged Seen. A session that ends any other way changes nothing. MaildropLocks
# lets one session at a time hold a mailbox (RFC 1939 section 8, [IN-USE]).
# A client downloading the maildrop in order (RETR n right after RETR n - 1) gets the
# next messages read with the one it asked for, in one look at the folder
# (Mailboxes.read_many): up to READ_AHEAD_MESSAGES of them and READ_AHEAD_OCTETS
# together, so memory stays bounded however large the maildrop. A RETR or TOP of a
# message read ahead needs no disk (has_read_ahead: the session answers it at once).
from __future__ import annotations

import logging
import threading

from labctl.protocols import pop3
from roles.mailserver.maildir_flags import Flag
from roles.mailserver.storage import Mailboxes, StoredMessage

log = logging.getLogger("mailserver")
READ_AHEAD_MESSAGES = 32
READ_AHEAD_OCTETS = 256 * 1024


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
        self._ahead: dict[int, bytes] = {}  # number -> raw message, read ahead
        self._last_read = 0  # the number read last (0: none yet)

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

    def has_read_ahead(self, number: int) -> bool:
        """True when message `number` was read ahead: reading it needs no disk."""
        return number in self._ahead

    def read(self, number: int, retrieve: bool = True) -> bytes:
        """The raw message `number` (with CRLF), retrieved (RETR, flagged Seen at UPDATE)
        or only looked at (TOP); KeyError holding the -ERR reply when it is gone."""
        message = self.get(number)
        data = self._ahead.get(number)
        if data is None:
            data = self._read_with_next(number, message)
        if retrieve:
            self.retrieved.add(number)
            self._ahead.pop(number, None)
        self._last_read = number
        return data

    def _read_with_next(self, number: int, message: StoredMessage) -> bytes:
        """Message `number` from the store, and the live ones after it when the client
        reads in order (they replace what was read ahead before)."""
        wanted = {message.id: number}
        if number == self._last_read + 1:
            octets = message.size
            for following in range(number + 1, len(self.messages) + 1):
                size = self.messages[following - 1].size
                if len(wanted) >= READ_AHEAD_MESSAGES or octets + size > READ_AHEAD_OCTETS:
                    break
                if following not in self.deleted:
                    wanted[self.messages[following - 1].id] = following
                    octets += size
        found = self.mailboxes.read_many(self.address, list(wanted))
        if message.id not in found:
            raise KeyError(pop3.replies.MESSAGE_GONE(number=number))
        self._ahead = {wanted[message_id]: data for message_id, data in found.items()}
        return found[message.id]

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
