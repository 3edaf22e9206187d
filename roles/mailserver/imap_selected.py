# The selected mailbox as one IMAP session sees it (RFC 3501 sections 2.3.1, 5.2, 7.4.1).
#
# Theory of operation
# -------------------
# The store (storage.Mailboxes) knows the folder as it is now; a SelectedMailbox keeps
# the session's own numbered view of it: `messages` in UID order, message sequence
# number n being messages[n - 1], each with the flags this session last told the
# client. The client learns about changes only when the session reports them, so the
# view moves forward only in refresh(): it lists the folder, and reports what changed
# since, as untagged responses:
#   - messages gone from the folder: `* n EXPUNGE`, highest number first (three gone
#     at 1, 2, 3 read `3, 2, 1`, each number the client's count at that moment) - only
#     when expunges may be sent (not after FETCH, STORE or SEARCH, RFC 3501 7.4.1:
#     until then the message stays in the view as a ghost the client can still name);
#   - flags changed by someone else: `* n FETCH (FLAGS (...))`;
#   - new messages: `* n EXISTS` and `* n RECENT`.
# \Recent lives here, in `recent`: the ids the store's claim_recent() gave this session
# (at SELECT and at each refresh), so exactly one session sees a new message as recent.
# EXAMINE claims nothing (a read-only session changes no state) and sees none recent.
# Flags: the store keeps Maildir's letters (maildir_flags.Flag); IMAP names them here
# once (SYSTEM_FLAGS). Keywords are not kept: PERMANENTFLAGS says so by omitting \*.
from __future__ import annotations

import time
from collections.abc import Iterable, Iterator

from labctl.protocols import imap
from labctl.protocols.imap_query import SequenceSet
from labctl.protocols.imap_values import Atom
from roles.mailserver.storage import Flag, Mailboxes, StoredMessage

SYSTEM_FLAGS: tuple[tuple[str, Flag], ...] = (
    ("\\Answered", Flag.REPLIED), ("\\Flagged", Flag.FLAGGED), ("\\Deleted", Flag.TRASHED),
    ("\\Seen", Flag.SEEN), ("\\Draft", Flag.DRAFT))
FLAG_NAMES = tuple(name for name, _ in SYSTEM_FLAGS)
RECENT = "\\Recent"
LOOK_INTERVAL = 1.0  # seconds a view trusts the store's change notification alone
_BY_NAME = {name.lower(): flag for name, flag in SYSTEM_FLAGS}


def imap_flags(flags: Iterable[Flag], recent: bool = False) -> list[str]:
    r"""The IMAP flag names of stored flags, in Dovecot's order, \Recent last."""
    kept = frozenset(flags)
    return [name for name, flag in SYSTEM_FLAGS if flag in kept] + ([RECENT] if recent else [])


def stored_flags(names: Iterable[str]) -> frozenset[Flag]:
    r"""The store's flags for IMAP flag names; \Recent and keywords are not stored."""
    return frozenset(_BY_NAME[name.lower()] for name in names if name.lower() in _BY_NAME)


class InvalidSequence(Exception):
    """A message sequence number beyond the mailbox: the command is answered BAD."""


class SelectedMailbox:
    """One session's numbered view of the folder it selected."""

    def __init__(self, mailboxes: Mailboxes, address: str, folder: str, read_only: bool) -> None:
        self.mailboxes, self.address, self.folder = mailboxes, address, folder
        self.read_only = read_only
        self.messages: list[StoredMessage] = []
        self.recent: set[str] = set()
        self.uid_validity = 0
        self.looked_at = 0.0  # time.monotonic() of the last listing
        self.changes_seen = 0  # the store's MailboxEvents.changes() before that listing
        self.owes_expunges = False  # messages gone from the folder are still in the view

    def open(self) -> list[imap.Response]:
        """Read the folder (KeyError when missing); the untagged responses of SELECT."""
        store, address, folder = self.mailboxes, self.address, self.folder
        self.changes_seen = store.events.changes(address, folder)
        self.uid_validity = store.uid_validity(address, folder)
        if not self.read_only:
            self.recent = set(store.claim_recent(address, folder))
        self.messages = store.list(address, folder)
        self.looked_at = time.monotonic()
        uid_next = store.uid_next(address, folder)
        replies = imap.replies
        permanent = "" if self.read_only else " ".join(FLAG_NAMES)
        responses = [replies.flags(FLAG_NAMES), replies.PERMANENT_FLAGS.untagged(flags=permanent),
                     replies.exists(len(self.messages)), replies.recent(self.recent_count())]
        unseen = next((n for n, m in enumerate(self.messages, 1) if Flag.SEEN not in m.flags),
                      None)
        if unseen is not None:
            responses.append(replies.UNSEEN.untagged(number=unseen))
        responses += [replies.UIDVALIDITY.untagged(uidvalidity=self.uid_validity),
                      replies.UIDNEXT.untagged(uidnext=uid_next)]
        return responses

    def stale(self) -> bool:
        """True when the last look at the folder is older than LOOK_INTERVAL."""
        return time.monotonic() - self.looked_at > LOOK_INTERVAL

    def recent_count(self) -> int:
        """How many messages of the view are \\Recent to this session."""
        return sum(1 for message in self.messages if message.id in self.recent)

    def is_recent(self, message: StoredMessage) -> bool:
        """True when `message` is \\Recent to this session."""
        return message.id in self.recent

    def flags_of(self, message: StoredMessage) -> list[Atom]:
        """The message's flags as the FETCH FLAGS value."""
        return [Atom(name) for name in imap_flags(message.flags, self.is_recent(message))]

    def refresh(self, expunges_allowed: bool) -> list[imap.Response]:
        """Bring the view up to date with the folder; the untagged responses saying how."""
        store = self.mailboxes
        self.changes_seen = store.events.changes(self.address, self.folder)
        if not self.read_only:
            self.recent |= store.claim_recent(self.address, self.folder)
        self.looked_at = time.monotonic()
        try:
            listing = store.list(self.address, self.folder)
        except KeyError:  # the folder was deleted or renamed: every message is gone
            listing = []
        current = {message.id: message for message in listing}
        responses = self._expunges(current) if expunges_allowed else []
        self.owes_expunges = any(message.id not in current for message in self.messages)
        for number, message in enumerate(self.messages, 1):
            now = current.get(message.id)
            if now is not None and now.flags != message.flags:
                self.messages[number - 1] = now
                responses.append(imap.replies.fetch(number, [("FLAGS", self.flags_of(now))]))
        known = {message.id for message in self.messages}
        arrived = [message for message in listing if message.id not in known]
        if arrived:
            self.messages += arrived
            responses += [imap.replies.exists(len(self.messages)),
                          imap.replies.recent(self.recent_count())]
        return responses

    def _expunges(self, current: dict[str, StoredMessage]) -> list[imap.Response]:
        gone = {message.id for message in self.messages if message.id not in current}
        return self.remove(gone)

    def remove(self, ids: set[str]) -> list[imap.Response]:
        """Drop messages from the view; their `* n EXPUNGE` responses, highest first (as
        Dovecot: each number is then the one the client knows)."""
        numbers = [n for n, message in enumerate(self.messages, 1) if message.id in ids]
        self.recent -= ids
        self.messages = [message for message in self.messages if message.id not in ids]
        return [imap.replies.expunge(number) for number in reversed(numbers)]

    def update(self, number: int, message: StoredMessage) -> None:
        """Record what this session itself changed (flags), so refresh() does not repeat it."""
        self.messages[number - 1] = message

    def resolve(self, messages: SequenceSet, uid: bool) -> Iterator[tuple[int, StoredMessage]]:
        """(sequence number, message) of each message the set names, in sequence order.

        Sequence numbers beyond the mailbox raise InvalidSequence; UIDs not in use are
        skipped (RFC 3501 6.4.8).
        """
        if uid:
            largest = self.messages[-1].uid if self.messages else 0
            return ((n, m) for n, m in enumerate(self.messages, 1)
                    if messages.includes(m.uid, largest))
        count = len(self.messages)
        for item in messages.ranges:
            if count == 0 or any(value is not None and value > count
                                 for value in (item.start, item.end)):
                raise InvalidSequence(f"message sequence number beyond {count} in {messages}")
        return ((n, m) for n, m in enumerate(self.messages, 1) if messages.includes(n, count))
