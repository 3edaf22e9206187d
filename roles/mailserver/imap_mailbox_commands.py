# IMAP commands on a user's folders as a whole (RFC 3501 6.3): LIST, LSUB, CREATE,
# DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, STATUS and APPEND.
#
# Each function takes the store, the logged-in address and the parsed command, and
# returns the responses to send, the tagged one last. They run in a worker thread (they
# touch the disk) and keep no state: what a session has selected lives in its
# SelectedMailbox (imap_selected.py), which STATUS consults for \Recent.
# The hierarchy delimiter is the store's ("." in Maildir++, as Dovecot's default for
# Maildir). LIST answers \HasChildren/\HasNoChildren, and shows a parent that exists only
# as a prefix of deeper folders (`Work` of `Work.Plans`) as \Noselect, as Dovecot does.
# Store errors become response codes: KeyError NONEXISTENT (TRYCREATE where the client
# may create the folder and retry: APPEND, COPY), an existing name ALREADYEXISTS,
# anything else the store refuses (ValueError: protected folder, invalid name) CANNOT.
from __future__ import annotations

import re
from collections.abc import Callable

from labctl.protocols import imap
from roles.mailserver.imap_selected import SelectedMailbox, stored_flags
from roles.mailserver.maildir_layout import INBOX, SEPARATOR
from roles.mailserver.storage import Flag, Mailboxes

replies = imap.replies
Responses = list[imap.Response]


def pattern_matcher(pattern: str) -> Callable[[str], bool]:
    """A test of folder names against a LIST pattern: `*` any text, `%` no delimiter;
    INBOX (only) is matched whatever its case."""
    regex = "".join(".*" if c == "*" else f"[^{re.escape(SEPARATOR)}]*" if c == "%"
                    else re.escape(c) for c in pattern)
    exact, folded = re.compile(regex, re.DOTALL), re.compile(regex, re.DOTALL | re.IGNORECASE)

    def matches(name: str) -> bool:
        return bool((folded if name == INBOX else exact).fullmatch(name))

    return matches


def list_folders(store: Mailboxes, address: str, command: imap.ImapCommand) -> Responses:
    """LIST or LSUB reference pattern."""
    arguments = command.arguments
    assert isinstance(arguments, imap.ListMailboxes)
    done = replies.COMPLETED.tagged(command.tag, name=command.name)
    if command.name == "LIST" and not arguments.pattern:  # the delimiter and the root
        return [replies.list_entry(["\\Noselect"], SEPARATOR, ""), done]
    matches = pattern_matcher(arguments.reference + arguments.pattern)
    existing = store.folders(address)
    names = set(existing)
    for name in existing:
        parts = name.split(SEPARATOR)
        names.update(SEPARATOR.join(parts[:depth]) for depth in range(1, len(parts)))
    if command.name == "LSUB":
        return [*(replies.list_entry(attributes, SEPARATOR, name, "LSUB")
                  for name, attributes in subscribed(store.subscriptions(address), matches)),
                done]
    responses = []
    for name in [INBOX, *sorted(names - {INBOX})]:
        if not matches(name):
            continue
        children = any(other.startswith(name + SEPARATOR) for other in names)
        attributes = [] if name in existing else ["\\Noselect"]
        attributes.append("\\HasChildren" if children else "\\HasNoChildren")
        responses.append(replies.list_entry(attributes, SEPARATOR, name))
    return [*responses, done]


def subscribed(names: list[str], matches: Callable[[str], bool]) -> list[tuple[str, list[str]]]:
    """LSUB's (name, attributes): the subscribed names the pattern matches, and an
    unsubscribed parent it matches (`%` stopping above a subscribed child) as \\Noselect
    (RFC 3501 6.3.9)."""
    entries: dict[str, list[str]] = {}
    for name in names:
        if matches(name):
            entries[name] = []
            continue
        parts = name.split(SEPARATOR)
        for depth in range(1, len(parts)):
            parent = SEPARATOR.join(parts[:depth])
            if parent not in names and matches(parent):
                entries.setdefault(parent, ["\\Noselect"])
    return list(entries.items())


def create(store: Mailboxes, address: str, command: imap.ImapCommand) -> Responses:
    """CREATE name (a trailing delimiter only says children will follow)."""
    arguments = command.arguments
    assert isinstance(arguments, imap.Mailbox)
    name = arguments.mailbox.rstrip(SEPARATOR) or arguments.mailbox
    if name.upper() == INBOX or name in store.folders(address):
        return [replies.ALREADY_EXISTS.tagged(command.tag, mailbox=name)]
    return _changed(command, lambda: store.create_folder(address, name))


def delete(store: Mailboxes, address: str, command: imap.ImapCommand) -> Responses:
    """DELETE name."""
    arguments = command.arguments
    assert isinstance(arguments, imap.Mailbox)
    if arguments.mailbox not in store.folders(address):
        return [replies.NO_SUCH_MAILBOX.tagged(command.tag, mailbox=arguments.mailbox)]
    return _changed(command, lambda: store.delete_folder(address, arguments.mailbox))


def _changed(command: imap.ImapCommand, change: Callable[[], None]) -> Responses:
    """OK once `change` is made; NO [CANNOT] saying why the store refused it."""
    try:
        change()
    except (KeyError, ValueError) as exc:
        return [replies.CANNOT.tagged(command.tag, reason=str(exc).strip("'\""))]
    return [replies.COMPLETED.tagged(command.tag, name=command.name)]


def rename(store: Mailboxes, address: str, command: imap.ImapCommand) -> Responses:
    """RENAME existing new (the folders below it move along)."""
    arguments = command.arguments
    assert isinstance(arguments, imap.Rename)
    existing = store.folders(address)
    if arguments.existing not in existing:
        return [replies.NO_SUCH_MAILBOX.tagged(command.tag, mailbox=arguments.existing)]
    if arguments.new.upper() == INBOX or arguments.new in existing:
        return [replies.ALREADY_EXISTS.tagged(command.tag, mailbox=arguments.new)]
    return _changed(command, lambda: store.rename_folder(address, arguments.existing,
                                                         arguments.new))


def subscription(store: Mailboxes, address: str, command: imap.ImapCommand) -> Responses:
    """SUBSCRIBE / UNSUBSCRIBE name (unsubscribing a name not subscribed is no error)."""
    arguments = command.arguments
    assert isinstance(arguments, imap.Mailbox)
    try:
        if command.name == "SUBSCRIBE":
            store.subscribe(address, arguments.mailbox)
        else:
            store.unsubscribe(address, arguments.mailbox)
    except KeyError:
        pass
    except ValueError as exc:
        return [replies.CANNOT.tagged(command.tag, reason=str(exc))]
    return [replies.COMPLETED.tagged(command.tag, name=command.name)]


def status(store: Mailboxes, address: str, command: imap.ImapCommand,
           selected: SelectedMailbox | None) -> Responses:
    """STATUS name (items); RECENT counts what the session's own view has as \\Recent."""
    arguments = command.arguments
    assert isinstance(arguments, imap.Status)
    folder = arguments.mailbox
    try:
        listing = store.list(address, folder)
    except (KeyError, ValueError):
        return [replies.NO_SUCH_MAILBOX.tagged(command.tag, mailbox=folder)]
    recent = selected.recent_count() if selected and selected.folder == folder else 0
    values = {
        "MESSAGES": lambda: len(listing),
        "RECENT": lambda: recent,
        "UIDNEXT": lambda: store.uid_next(address, folder),
        "UIDVALIDITY": lambda: store.uid_validity(address, folder),
        "UNSEEN": lambda: sum(1 for m in listing if Flag.SEEN not in m.flags),
    }
    items = [(item, values[item]()) for item in arguments.items]
    return [replies.status(folder, items), replies.COMPLETED.tagged(command.tag, name="STATUS")]


def append(store: Mailboxes, address: str, command: imap.ImapCommand) -> Responses:
    """APPEND name [(flags)] [date-time] literal: [APPENDUID], [TRYCREATE] when missing."""
    arguments = command.arguments
    assert isinstance(arguments, imap.Append)
    if not arguments.message:
        return [replies.CANNOT.tagged(command.tag, reason="an empty message cannot be saved")]
    when = arguments.internal_date.timestamp() if arguments.internal_date else None
    try:
        stored = store.append(address, arguments.mailbox, arguments.message,
                              stored_flags(arguments.flags), when)
    except KeyError:
        return [replies.TRY_CREATE.tagged(command.tag, mailbox=arguments.mailbox)]
    except ValueError as exc:
        return [replies.CANNOT.tagged(command.tag, reason=str(exc))]
    validity = store.uid_validity(address, arguments.mailbox)
    return [replies.APPENDED.tagged(command.tag, uidvalidity=validity, uid=stored.uid)]
