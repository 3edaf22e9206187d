# IMAP4rev1 client commands (RFC 3501 section 9, plus IDLE, NAMESPACE, UNSELECT, MOVE,
# UIDPLUS, LITERAL+, SASL-IR) parsed from bytes into ImapCommand (imap_commands.py).
#
# parse_command() takes one complete command (every literal's octets in place, as the
# server machine assembles it) and returns the typed command, or raises
# CommandSyntaxError saying what was expected at which offset; `status`/`code` on the
# error tell the server what to answer (BAD, or NO [BADCHARSET]). parse_head() reads only
# the tag and the command name, so the machine can refuse a command before the client
# sends its literals. One table, ARGUMENT_PARSERS, maps each command to its parser.
from __future__ import annotations

import datetime
import re
from collections.abc import Callable

from labctl.protocols.imap_commands import (
    Append,
    Arguments,
    Authenticate,
    Copy,
    Fetch,
    ImapCommand,
    ListMailboxes,
    Login,
    Mailbox,
    Rename,
    Search,
    Status,
    Store,
    UidExpunge,
)
from labctl.protocols.imap_fetch_search import MONTHS, fetch_items, search_program
from labctl.protocols.imap_tokens import CommandSyntaxError, Reader

_TAG = re.compile(rb"[^(){ \x00-\x1f\x7f%*\"\\+\x80-\xff]+")  # ATOM-CHAR except "+"
_NAME = re.compile(rb"[A-Za-z]+")
_DATE_TIME = re.compile(
    rb'"([ 0-9][0-9])-([A-Za-z]{3})-([0-9]{4}) ([0-9]{2}):([0-9]{2}):([0-9]{2}) ([+-])'
    rb'([0-9]{2})([0-9]{2})"')
_BASE64 = re.compile(rb"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?|=")
STATUS_ITEMS = frozenset({"MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN"})
UID_COMMANDS = frozenset({"FETCH", "SEARCH", "STORE", "COPY", "MOVE", "EXPUNGE"})


def mailbox(reader: Reader) -> str:
    """A mailbox name: INBOX in any case is INBOX, other names are kept as sent."""
    name = reader.astring("a mailbox name")
    return "INBOX" if name.upper() == "INBOX" else name


def flag(reader: Reader) -> str:
    r"""A flag: \Seen (a system flag), \* (PERMANENTFLAGS) or a keyword atom."""
    if reader.skip(b"\\"):
        return "\\" + ("*" if reader.skip(b"*") else reader.atom("a flag name after \\"))
    return reader.atom("a flag")


def flag_list(reader: Reader) -> tuple[str, ...]:
    """( [flag *(SP flag)] )."""
    reader.open_list("a flag list")
    flags: list[str] = []
    while not reader.close_list():
        if flags:
            reader.list_space()
        flags.append(flag(reader))
    return tuple(flags)


def date_time(reader: Reader) -> datetime.datetime:
    """An APPEND date-time: "dd-Mon-yyyy hh:mm:ss +zzzz"."""
    found = _DATE_TIME.match(reader.data, reader.pos)
    if found is None or found.group(2).upper().decode() not in MONTHS:
        raise reader.error('a date-time such as "01-Feb-2026 10:00:00 +0100"')
    day, month, year, hour, minute, second, sign, zone_h, zone_m = found.groups()
    offset = datetime.timedelta(hours=int(zone_h), minutes=int(zone_m))
    try:
        value = datetime.datetime(
            int(year), MONTHS.index(month.upper().decode()) + 1, int(day), int(hour),
            int(minute), int(second),
            tzinfo=datetime.timezone(-offset if sign == b"-" else offset))
    except ValueError as exc:
        raise CommandSyntaxError(f"impossible date-time at offset {reader.pos}: {exc}") from exc
    reader.pos = found.end()
    return value


def _login(reader: Reader) -> Login:
    user = reader.astring("a user name")
    reader.space()
    return Login(user, reader.astring("a password"))


def _authenticate(reader: Reader) -> Authenticate:
    mechanism = reader.atom("a SASL mechanism name").upper()
    if not reader.skip(b" "):
        return Authenticate(mechanism)
    found = _BASE64.fullmatch(reader.data, reader.pos)
    if found is None or not found.group(0):
        raise reader.error("a base64 initial response (or =)")
    reader.pos = len(reader.data)
    return Authenticate(mechanism, found.group(0).decode("ascii"))


def _mailbox(reader: Reader) -> Mailbox:
    return Mailbox(mailbox(reader))


def _rename(reader: Reader) -> Rename:
    existing = mailbox(reader)
    reader.space()
    return Rename(existing, mailbox(reader))


def _list(reader: Reader) -> ListMailboxes:
    reference = mailbox(reader)
    reader.space()
    return ListMailboxes(reference, reader.list_mailbox())


def _status(reader: Reader) -> Status:
    name = mailbox(reader)
    reader.space()
    reader.open_list("a list of STATUS items")
    items: list[str] = []
    while not reader.close_list():
        if items:
            reader.list_space()
        start = reader.pos
        items.append(reader.atom("a STATUS item").upper())
        if items[-1] not in STATUS_ITEMS:
            raise CommandSyntaxError(f"unknown STATUS item {items[-1]!r} at offset {start}")
    if not items:
        raise reader.error("at least one STATUS item")
    return Status(name, tuple(items))


def _append(reader: Reader) -> Append:
    name = mailbox(reader)
    reader.space()
    flags = flag_list(reader) if reader.peek(b"(") else ()
    if flags or reader.data[reader.pos - 1:reader.pos] == b")":
        reader.space()
    when = None
    if reader.peek(b'"'):
        when = date_time(reader)
        reader.space()
    if not reader.peek(b"{"):
        raise reader.error("the message as a literal {n}")
    return Append(name, flags, when, reader.literal())


def _fetch(reader: Reader) -> Fetch:
    messages = reader.sequence_set()
    reader.space()
    return Fetch(messages, fetch_items(reader))


def _store(reader: Reader) -> Store:
    messages = reader.sequence_set()
    reader.space()
    mode = "+" if reader.skip(b"+") else "-" if reader.skip(b"-") else ""
    reader.expect(b"FLAGS", "FLAGS, +FLAGS or -FLAGS")
    silent = reader.skip(b".SILENT")
    reader.space()
    if reader.peek(b"("):
        return Store(messages, mode, silent, flag_list(reader))
    flags = [flag(reader)]
    while reader.skip(b" "):
        flags.append(flag(reader))
    return Store(messages, mode, silent, tuple(flags))


def _copy(reader: Reader) -> Copy:
    messages = reader.sequence_set()
    reader.space()
    return Copy(messages, mailbox(reader))


def _search(reader: Reader) -> Search:
    charset, program = search_program(reader)
    return Search(charset, program)


def _uid_expunge(reader: Reader) -> UidExpunge:
    return UidExpunge(reader.sequence_set())


ArgumentParser = Callable[[Reader], Arguments]
NO_ARGUMENTS = frozenset({
    "CAPABILITY", "NOOP", "LOGOUT", "STARTTLS", "CHECK", "CLOSE", "EXPUNGE", "IDLE",
    "NAMESPACE", "UNSELECT"})
ARGUMENT_PARSERS: dict[str, ArgumentParser] = {
    "LOGIN": _login, "AUTHENTICATE": _authenticate,
    **{name: _mailbox for name in (
        "SELECT", "EXAMINE", "CREATE", "DELETE", "SUBSCRIBE", "UNSUBSCRIBE")},
    "RENAME": _rename, "LIST": _list, "LSUB": _list, "STATUS": _status, "APPEND": _append,
    "FETCH": _fetch, "STORE": _store, "COPY": _copy, "MOVE": _copy, "SEARCH": _search,
}
COMMANDS = NO_ARGUMENTS | frozenset(ARGUMENT_PARSERS)


def tag_of(line: bytes) -> str | None:
    """The tag a line starts with (followed by SP), or None: to tag the BAD for a bad head."""
    found = _TAG.match(line)
    if found is None or line[found.end():found.end() + 1] != b" ":
        return None
    return found.group(0).decode("ascii")


def parse_head(data: bytes) -> tuple[str, str, bool]:
    """(tag, upper-cased command name, UID prefix) of a command; CommandSyntaxError if none."""
    return _head(Reader(data))


def _head(reader: Reader) -> tuple[str, str, bool]:
    tag = reader.match(_TAG, "a tag").decode("ascii")
    reader.space()
    name = reader.match(_NAME, "a command name").decode("ascii").upper()
    uid = name == "UID"
    if uid:
        reader.space()
        name = reader.match(_NAME, "a command name after UID").decode("ascii").upper()
    return tag, name, uid


def parse_command(data: bytes) -> ImapCommand:
    """Parse one complete command (literals in place, final CRLF optional)."""
    body = data[:-2] if data.endswith(b"\r\n") else data[:-1] if data.endswith(b"\n") else data
    reader = Reader(body)
    tag, name, uid = _head(reader)
    if uid and name not in UID_COMMANDS:
        raise CommandSyntaxError(f"UID {name} is not a command")
    if name not in COMMANDS:
        raise CommandSyntaxError(f"unknown command {name}")
    if uid and name == "EXPUNGE":
        reader.space()
        arguments: Arguments = _uid_expunge(reader)
    elif name in NO_ARGUMENTS:
        arguments = None
    else:
        reader.space()
        arguments = ARGUMENT_PARSERS[name](reader)
    reader.end()
    return ImapCommand(tag, name, uid, arguments)
