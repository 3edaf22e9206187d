# The typed IMAP client commands the grammar builds (imap_grammar.py) and the server uses.
#
# Every command is one frozen ImapCommand: its tag, its upper-cased name, whether it
# came with the UID prefix, and `arguments`: None for commands without any (CAPABILITY,
# NOOP, LOGOUT, ...), else one dataclass per family below. For example
#   A1 UID FETCH 1:* (FLAGS BODY.PEEK[1]<0.40>)
# is ImapCommand("A1", "FETCH", uid=True, arguments=Fetch(SequenceSet(...), (
#   FetchItem("FLAGS"), FetchItem("BODY", Section((1,)), peek=True, partial=(0, 40))))).
from __future__ import annotations

import datetime
from dataclasses import dataclass

from labctl.protocols.imap_query import FetchItem, SearchKey, SequenceSet


@dataclass(frozen=True)
class Login:
    """LOGIN user password."""

    user: str
    password: str


@dataclass(frozen=True)
class Authenticate:
    """AUTHENTICATE mechanism [initial-response] (RFC 4959 SASL-IR; "=" is an empty one)."""

    mechanism: str  # upper-cased
    initial_response: str | None = None


@dataclass(frozen=True)
class Mailbox:
    """SELECT, EXAMINE, CREATE, DELETE, SUBSCRIBE, UNSUBSCRIBE: one mailbox name."""

    mailbox: str  # "INBOX" in any case comes out as "INBOX"; modified UTF-7 left as text


@dataclass(frozen=True)
class Rename:
    """RENAME existing new."""

    existing: str
    new: str


@dataclass(frozen=True)
class ListMailboxes:
    """LIST / LSUB reference pattern."""

    reference: str
    pattern: str


@dataclass(frozen=True)
class Status:
    """STATUS mailbox (items): MESSAGES, RECENT, UIDNEXT, UIDVALIDITY, UNSEEN."""

    mailbox: str
    items: tuple[str, ...]


@dataclass(frozen=True)
class Append:
    """APPEND mailbox [(flags)] [date-time] message-literal."""

    mailbox: str
    flags: tuple[str, ...]
    internal_date: datetime.datetime | None
    message: bytes


@dataclass(frozen=True)
class Fetch:
    """[UID] FETCH sequence-set items (macros expanded)."""

    messages: SequenceSet
    items: tuple[FetchItem, ...]


@dataclass(frozen=True)
class Store:
    """[UID] STORE sequence-set [+-]FLAGS[.SILENT] flags."""

    messages: SequenceSet
    mode: str  # "" replaces the flags, "+" adds them, "-" removes them
    silent: bool
    flags: tuple[str, ...]


@dataclass(frozen=True)
class Copy:
    """[UID] COPY / MOVE (RFC 6851) sequence-set mailbox."""

    messages: SequenceSet
    mailbox: str


@dataclass(frozen=True)
class Search:
    """[UID] SEARCH [CHARSET name] keys; the keys are ANDed into `program`."""

    charset: str | None
    program: SearchKey


@dataclass(frozen=True)
class UidExpunge:
    """UID EXPUNGE sequence-set (RFC 4315 UIDPLUS)."""

    messages: SequenceSet


Arguments = (Login | Authenticate | Mailbox | Rename | ListMailboxes | Status | Append
             | Fetch | Store | Copy | Search | UidExpunge | None)


@dataclass(frozen=True)
class ImapCommand:
    """One complete client command: tag, upper-cased name, UID prefix, parsed arguments."""

    tag: str
    name: str
    uid: bool = False
    arguments: Arguments = None
