# IMAP commands on the messages of the selected mailbox (RFC 3501 6.4, RFC 4315, RFC
# 6851): FETCH, STORE, SEARCH, COPY, MOVE, EXPUNGE, UID EXPUNGE and CLOSE's expunge.
#
# Each function takes the session's SelectedMailbox (imap_selected.py) and the parsed
# command and returns the responses, the tagged one last; FETCH also comes in batches
# (fetch_in_batches), which the I/O layer sends as they come, one worker thread hop each.
# A message's bytes are read only when an item or a search key needs them (FLAGS, UID,
# INTERNALDATE, RFC822.SIZE and flag searches come from the listing), and then a batch
# at a time (BATCH_MESSAGES and BATCH_OCTETS at most, Mailboxes.read_many: one look at
# the folder each), so memory stays bounded however large the mailbox.
# FETCH answers each message through an imap_fetch.FetchPlan; an item that sets \Seen
# (BODY[...] without PEEK, RFC822, RFC822.TEXT) sets it in the store, and the response
# then carries the new FLAGS (RFC 3501 6.4.5). A message another session removed since
# the view last moved on is skipped (its expunge is announced later).
from __future__ import annotations

import contextlib
import dataclasses
import datetime
import functools
import time
from collections.abc import Iterable, Iterator

from labctl.protocols import imap
from labctl.protocols.imap_query import FetchItem, SearchKey
from labctl.protocols.imap_values import Atom, ImapValue, encode
from roles.mailserver.imap_fetch import FetchPlan, MessageFacts
from roles.mailserver.imap_search import SearchTarget, matches
from roles.mailserver.imap_selected import SelectedMailbox, stored_flags
from roles.mailserver.storage import Flag, FlagChange, StoredMessage

replies = imap.replies
Responses = list[imap.Response]
Chosen = list[tuple[int, StoredMessage]]  # (sequence number, message)
BATCH_MESSAGES = 100
BATCH_OCTETS = 1 << 20  # a single larger message makes a batch of its own
_KEYS_FROM_LISTING = frozenset({
    "ALL", "ANSWERED", "DELETED", "DRAFT", "FLAGGED", "NEW", "OLD", "RECENT", "SEEN",
    "UNANSWERED", "UNDELETED", "UNDRAFT", "UNFLAGGED", "UNSEEN", "SEQUENCE", "UID",
    "BEFORE", "ON", "SINCE", "KEYWORD", "UNKEYWORD", "AND", "OR", "NOT"})
_FLAG_CHANGES: dict[str, FlagChange] = {"": "replace", "+": "add", "-": "remove"}
READ_ONLY = "the mailbox is read-only (EXAMINE)"


def internal_date(message: StoredMessage) -> datetime.datetime:
    """A message's INTERNALDATE, in the server's local time zone (its offset on that day:
    time.localtime once, not the two look-ups of datetime.astimezone())."""
    offset = time.localtime(message.internal_date).tm_gmtoff
    return datetime.datetime.fromtimestamp(message.internal_date, _zone(offset))


@functools.lru_cache(maxsize=64)
def _zone(offset_seconds: int) -> datetime.timezone:
    return datetime.timezone(datetime.timedelta(seconds=offset_seconds))


class FlagValues:
    """The FLAGS of the view's messages, as atoms and encoded, worked out once for each
    set of flags (a FETCH of a thousand messages sees a handful)."""

    def __init__(self, view: SelectedMailbox) -> None:
        self.view = view
        self._known: dict[tuple[frozenset[Flag], bool], tuple[tuple[Atom, ...], bytes]] = {}

    def of(self, message: StoredMessage) -> tuple[tuple[Atom, ...], bytes]:
        """The message's FLAGS value (\\Recent included when it is to this session)."""
        key = (message.flags, self.view.is_recent(message))
        found = self._known.get(key)
        if found is None:
            atoms = tuple(self.view.flags_of(message))
            found = self._known[key] = (atoms, encode(atoms))
        return found


def _with_facts(view: SelectedMailbox, chosen: Chosen, with_bytes: bool,
                flags: FlagValues) -> Iterator[tuple[int, StoredMessage, MessageFacts]]:
    """Each chosen message with its facts; its bytes (all read in one go) only when
    `with_bytes`, and then a message gone from the folder meanwhile is left out."""
    raws = (view.mailboxes.read_many(view.address, [m.id for _, m in chosen], view.folder)
            if with_bytes else {})
    for number, message in chosen:
        if with_bytes and message.id not in raws:
            continue
        yield number, message, MessageFacts(message.uid, flags.of(message)[0],
                                            internal_date(message), raws.get(message.id, b""))


def batches(chosen: Chosen) -> list[Chosen]:
    """`chosen` cut into batches of BATCH_MESSAGES and BATCH_OCTETS at most (at least one
    message each); one batch, maybe empty, when it fits."""
    cut: list[Chosen] = [[]]
    octets = 0
    for number, message in chosen:
        if cut[-1] and (len(cut[-1]) >= BATCH_MESSAGES or octets + message.size > BATCH_OCTETS):
            cut.append([])
            octets = 0
        cut[-1].append((number, message))
        octets += message.size
    return cut


def fetch(view: SelectedMailbox, command: imap.ImapCommand) -> Responses:
    """[UID] FETCH set items (UID FETCH answers the UID first, RFC 3501 6.4.8)."""
    return [response for batch in fetch_in_batches(view, command) for response in batch]


def fetch_in_batches(view: SelectedMailbox, command: imap.ImapCommand) -> Iterator[Responses]:
    """fetch() a batch of messages at a time; the tagged response ends the last batch."""
    arguments = command.arguments
    assert isinstance(arguments, imap.Fetch)
    items = list(arguments.items)
    if command.uid and not any(item.name == "UID" for item in items):
        items.insert(0, FetchItem("UID"))
    plan = FetchPlan(items)
    setting_seen, flagged_plan = plan.sets_seen and not view.read_only, plan.with_flags()
    flags = FlagValues(view)
    chosen = batches(list(view.resolve(arguments.messages, command.uid)))
    for index, batch in enumerate(chosen, 1):
        responses: Responses = []
        for number, message, facts in _with_facts(view, batch, plan.needs_bytes, flags):
            answering = plan
            if setting_seen and Flag.SEEN not in message.flags:
                message = _set_flags(view, number, message, {Flag.SEEN}, "add") or message
                answering = flagged_plan
            responses.append(replies.untagged_data(
                answering.answer(number, facts, flags.of(message)[1], message.size)))
        if index == len(chosen):
            responses.append(replies.COMPLETED.tagged(command.tag, name=_name(command)))
        yield responses


def _set_flags(view: SelectedMailbox, number: int, message: StoredMessage,
               flags: Iterable[Flag], how: FlagChange) -> StoredMessage | None:
    """Change a message's flags in the store and the view; None when it is gone."""
    try:
        new = view.mailboxes.set_flags(view.address, message.id, flags, view.folder, how)
    except KeyError:
        return None
    changed = dataclasses.replace(message, flags=new)
    view.update(number, changed)
    return changed


def store(view: SelectedMailbox, command: imap.ImapCommand) -> Responses:
    """[UID] STORE set [+-]FLAGS[.SILENT] (flags)."""
    arguments = command.arguments
    assert isinstance(arguments, imap.Store)
    if view.read_only:
        return [replies.CANNOT.tagged(command.tag, reason=READ_ONLY)]
    flags, how = stored_flags(arguments.flags), _FLAG_CHANGES[arguments.mode]
    responses: Responses = []
    for number, message in list(view.resolve(arguments.messages, command.uid)):
        changed = _set_flags(view, number, message, flags, how)
        if changed is None or arguments.silent or changed.flags == message.flags:
            continue  # as Dovecot: no FETCH when the flags stay the same
        items: list[tuple[str, ImapValue]] = [("UID", changed.uid)] if command.uid else []
        items.append(("FLAGS", view.flags_of(changed)))
        responses.append(replies.fetch(number, items))
    return [*responses, replies.COMPLETED.tagged(command.tag, name=_name(command))]


def _needs_bytes(key: SearchKey) -> bool:
    return key.name not in _KEYS_FROM_LISTING or any(_needs_bytes(k) for k in key.operands)


def search(view: SelectedMailbox, command: imap.ImapCommand) -> Responses:
    """[UID] SEARCH [CHARSET name] keys: numbers (or UIDs) of the matching messages."""
    arguments = command.arguments
    assert isinstance(arguments, imap.Search)
    with_bytes = _needs_bytes(arguments.program)
    largest_uid = view.messages[-1].uid if view.messages else 0
    found: list[int] = []
    flags = FlagValues(view)
    for batch in batches(list(enumerate(view.messages, 1))):
        for number, message, facts in _with_facts(view, batch, with_bytes, flags):
            target = SearchTarget(facts, number, view.is_recent(message), len(view.messages),
                                  largest_uid)
            if matches(arguments.program, target):
                found.append(message.uid if command.uid else number)
    return [replies.search(found), replies.COMPLETED.tagged(command.tag, name=_name(command))]


def number_set(numbers: Iterable[int]) -> str:
    """Numbers as a compact sequence set, in the given order: 1:3,7,5."""
    runs: list[list[int]] = []
    for number in numbers:
        if runs and number == runs[-1][1] + 1:
            runs[-1][1] = number
        else:
            runs.append([number, number])
    return ",".join(str(a) if a == b else f"{a}:{b}" for a, b in runs)


def copy(view: SelectedMailbox, command: imap.ImapCommand) -> Responses:
    """[UID] COPY / MOVE set mailbox: [COPYUID]; MOVE then expunges the originals."""
    arguments = command.arguments
    assert isinstance(arguments, imap.Copy)
    moving = command.name == "MOVE"
    if moving and view.read_only:
        return [replies.CANNOT.tagged(command.tag, reason=READ_ONLY)]
    chosen = [message for _, message in view.resolve(arguments.messages, command.uid)]
    store, address, target = view.mailboxes, view.address, arguments.mailbox
    try:
        transfer = store.move if moving else store.copy
        pairs = transfer(address, view.folder, [m.id for m in chosen], target)
        validity = store.uid_validity(address, target)
    except KeyError:
        return [replies.TRY_CREATE.tagged(command.tag, mailbox=target)]
    except ValueError as exc:
        return [replies.CANNOT.tagged(command.tag, reason=str(exc))]
    name = _name(command)
    if not pairs:
        return [replies.COMPLETED.tagged(command.tag, name=name)]
    codes = {"uidvalidity": validity, "source": number_set(old for old, _ in pairs),
             "destination": number_set(new for _, new in pairs), "name": name}
    if not moving:
        return [replies.COPIED.tagged(command.tag, **codes)]
    moved = {old for old, _ in pairs}
    expunges = view.remove({m.id for m in chosen if m.uid in moved})
    return [replies.COPIED.untagged(**codes), *expunges,
            replies.COMPLETED.tagged(command.tag, name=name)]


def expunge(view: SelectedMailbox, command: imap.ImapCommand) -> Responses:
    """EXPUNGE / UID EXPUNGE set: remove the \\Deleted messages (of the set)."""
    if view.read_only:
        return [replies.CANNOT.tagged(command.tag, reason=READ_ONLY)]
    responses = view.refresh(expunges_allowed=True)  # \Deleted set by other sessions too
    arguments = command.arguments
    chosen = (dict(view.resolve(arguments.messages, True))
              if isinstance(arguments, imap.UidExpunge) else None)
    removed = remove_deleted(view, chosen)
    return [*responses, *removed, replies.COMPLETED.tagged(command.tag, name=_name(command))]


def remove_deleted(view: SelectedMailbox,
                   among: dict[int, StoredMessage] | None = None) -> Responses:
    """Delete the view's \\Deleted messages (those of `among` only, when given) from the
    store; their EXPUNGE responses (CLOSE drops them)."""
    doomed = set()
    for number, message in enumerate(view.messages, 1):
        if Flag.TRASHED in message.flags and (among is None or number in among):
            with contextlib.suppress(KeyError):  # gone already: expunged all the same
                view.mailboxes.delete(view.address, message.id, view.folder)
            doomed.add(message.id)
    return view.remove(doomed)


def _name(command: imap.ImapCommand) -> str:
    return f"UID {command.name}" if command.uid else command.name

