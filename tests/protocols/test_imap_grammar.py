# IMAP command grammar: concrete commands in, typed commands (or errors naming the spot) out.
from __future__ import annotations

import datetime

import pytest

from labctl.protocols import imap
from labctl.protocols.imap_query import (
    FetchItem,
    SearchKey,
    Section,
    SequenceRange,
    SequenceSet,
)


def args(line: bytes) -> imap.Arguments:
    return imap.parse_command(line).arguments


def seq(*ranges: tuple[int | None, int | None]) -> SequenceSet:
    return SequenceSet(tuple(SequenceRange(a, b) for a, b in ranges))


def key(name: str, *arguments: object, operands: tuple[SearchKey, ...] = ()) -> SearchKey:
    return SearchKey(name, tuple(arguments), operands)  # type: ignore[arg-type]


def test_the_documented_example() -> None:
    assert imap.parse_command(b"A1 UID FETCH 1:* (FLAGS BODY.PEEK[1]<0.40>)\r\n") == (
        imap.ImapCommand("A1", "FETCH", True, imap.Fetch(seq((1, None)), (
            FetchItem("FLAGS"),
            FetchItem("BODY", Section((1,)), peek=True, partial=(0, 40))))))


@pytest.mark.parametrize(("line", "expected"), [
    (b"a CAPABILITY", None), (b"a noop", None), (b"a LOGOUT\r\n", None), (b"a IDLE", None),
    (b"a NAMESPACE", None), (b"a UNSELECT", None), (b"a CHECK", None), (b"a close", None),
    (b"a EXPUNGE", None), (b"a STARTTLS", None),
    (b"a LOGIN alice pw", imap.Login("alice", "pw")),
    (b'a LOGIN "al ice" "p\\"w\\\\"', imap.Login("al ice", 'p"w\\')),
    (b"a LOGIN {5}\r\nalice {2+}\r\npw", imap.Login("alice", "pw")),
    (b"a LOGIN a]b pw", imap.Login("a]b", "pw")),
    (b"a AUTHENTICATE plain", imap.Authenticate("PLAIN")),
    (b"a AUTHENTICATE PLAIN AGFsaWNlAHB3", imap.Authenticate("PLAIN", "AGFsaWNlAHB3")),
    (b"a AUTHENTICATE PLAIN =", imap.Authenticate("PLAIN", "=")),
    (b"a SELECT inbox", imap.Mailbox("INBOX")), (b"a EXAMINE Sent", imap.Mailbox("Sent")),
    (b"a CREATE &AMk-t&AOk-", imap.Mailbox("&AMk-t&AOk-")),
    (b'a DELETE "My Box"', imap.Mailbox("My Box")),
    (b"a SUBSCRIBE {4}\r\nJunk", imap.Mailbox("Junk")),
    (b"a UNSUBSCRIBE Trash", imap.Mailbox("Trash")),
    (b"a RENAME Old New", imap.Rename("Old", "New")),
    (b'a LIST "" *', imap.ListMailboxes("", "*")),
    (b"a LSUB Archive/ %", imap.ListMailboxes("Archive/", "%")),
    (b"a LIST \"\" \"Sent/%\"", imap.ListMailboxes("", "Sent/%")),
    (b"a LIST ~/ foo]*", imap.ListMailboxes("~/", "foo]*")),
    (b"a STATUS Inbox (MESSAGES UIDNEXT uidvalidity UNSEEN RECENT)", imap.Status(
        "INBOX", ("MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "RECENT"))),
    (b"a APPEND Sent {3}\r\nabc", imap.Append("Sent", (), None, b"abc")),
    (b"a APPEND Sent () {0}\r\n\r\n", imap.Append("Sent", (), None, b"")),
    (b'a APPEND INBOX (\\Seen $Work) " 1-Feb-2026 10:00:00 -0130" {3+}\r\na\r\n\r\n',
     imap.Append("INBOX", ("\\Seen", "$Work"), datetime.datetime(
         2026, 2, 1, 10, 0, tzinfo=datetime.timezone(-datetime.timedelta(hours=1, minutes=30))),
         b"a\r\n")),
    (b"a STORE 1:3 FLAGS (\\Seen)", imap.Store(seq((1, 3)), "", False, ("\\Seen",))),
    (b"a STORE 2 +FLAGS.SILENT \\Deleted \\Seen",
     imap.Store(seq((2, 2)), "+", True, ("\\Deleted", "\\Seen"))),
    (b"a STORE * -flags ()", imap.Store(seq((None, None)), "-", False, ())),
    (b"a COPY 1,3:5 Trash", imap.Copy(seq((1, 1), (3, 5)), "Trash")),
    (b"a MOVE 2:* Junk", imap.Copy(seq((2, None)), "Junk")),
])
def test_commands(line: bytes, expected: imap.Arguments) -> None:
    assert args(line) == expected


def test_uid_prefix_and_names() -> None:
    command = imap.parse_command(b"x1 uid copy 4 INBOX")
    assert (command.tag, command.name, command.uid) == ("x1", "COPY", True)
    assert args(b"a UID EXPUNGE 3:4,9") == imap.UidExpunge(seq((3, 4), (9, 9)))
    assert imap.parse_command(b"a EXPUNGE").uid is False


@pytest.mark.parametrize(("items", "expected"), [
    (b"ALL", ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE")),
    (b"fast", ("FLAGS", "INTERNALDATE", "RFC822.SIZE")),
    (b"FULL", ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY")),
    (b"(UID RFC822 RFC822.HEADER RFC822.TEXT BODYSTRUCTURE BODY)",
     ("UID", "RFC822", "RFC822.HEADER", "RFC822.TEXT", "BODYSTRUCTURE", "BODY")),
    (b"uid", ("UID",)),
])
def test_fetch_simple_items_and_macros(items: bytes, expected: tuple[str, ...]) -> None:
    parsed = args(b"a FETCH 1 " + items)
    assert isinstance(parsed, imap.Fetch)
    assert parsed.items == tuple(FetchItem(name) for name in expected)


@pytest.mark.parametrize(("item", "expected"), [
    (b"BODY[]", FetchItem("BODY", Section())),
    (b"BODY.PEEK[]<0.1024>", FetchItem("BODY", Section(), True, (0, 1024))),
    (b"body[header]", FetchItem("BODY", Section((), "HEADER"))),
    (b"BODY[TEXT]<10.5>", FetchItem("BODY", Section((), "TEXT"), partial=(10, 5))),
    (b"BODY[1.2]", FetchItem("BODY", Section((1, 2)))),
    (b"BODY[3.MIME]", FetchItem("BODY", Section((3,), "MIME"))),
    (b"BODY[2.1.TEXT]", FetchItem("BODY", Section((2, 1), "TEXT"))),
    (b"BODY.PEEK[HEADER.FIELDS (From To \"Subject\")]",
     FetchItem("BODY", Section((), "HEADER.FIELDS", ("From", "To", "Subject")), True)),
    (b"BODY[1.HEADER.FIELDS.NOT (Received)]",
     FetchItem("BODY", Section((1,), "HEADER.FIELDS.NOT", ("Received",)))),
])
def test_fetch_body_sections(item: bytes, expected: FetchItem) -> None:
    parsed = args(b"a FETCH 1 (FLAGS " + item + b")")
    assert isinstance(parsed, imap.Fetch)
    assert parsed.items == (FetchItem("FLAGS"), expected)


def test_fetch_response_name_of_a_partial() -> None:
    parsed = args(b"a FETCH 1 BODY.PEEK[1]<0.40>")
    assert isinstance(parsed, imap.Fetch)
    assert parsed.items[0].response_name() == "BODY[1]<0>"


def search(text: bytes) -> SearchKey:
    parsed = args(b"a SEARCH " + text)
    assert isinstance(parsed, imap.Search)
    return parsed.program


def test_search_programs() -> None:
    assert search(b"ALL") == key("AND", operands=(key("ALL"),))
    assert search(b"OR (FROM alice UNSEEN) NOT 1:3 SINCE 1-Feb-2026") == key("AND", operands=(
        key("OR", operands=(key("AND", operands=(key("FROM", "alice"), key("UNSEEN"))),
                            key("NOT", operands=(key("SEQUENCE", seq((1, 3))),)))),
        key("SINCE", datetime.date(2026, 2, 1))))
    assert search(b'header "X-Spam" "yes" larger 1000 uid 5:* keyword $Junk') == key(
        "AND", operands=(key("HEADER", "X-Spam", "yes"), key("LARGER", 1000),
                         key("UID", seq((5, None))), key("KEYWORD", "$Junk")))
    assert search(b'BEFORE "03-Mar-2025" SUBJECT {5}\r\nhello') == key("AND", operands=(
        key("BEFORE", datetime.date(2025, 3, 3)), key("SUBJECT", "hello")))
    assert search(b"NOT NOT *") == key("AND", operands=(
        key("NOT", operands=(key("NOT", operands=(key("SEQUENCE", seq((None, None))),)),)),))


def test_search_charsets() -> None:
    parsed = args(b"a UID SEARCH CHARSET utf-8 TEXT {5}\r\ncaf\xc3\xa9")
    assert isinstance(parsed, imap.Search)
    assert parsed.charset == "UTF-8"
    assert parsed.program == key("AND", operands=(key("TEXT", "café"),))
    with pytest.raises(imap.CommandSyntaxError) as error:
        imap.parse_command(b"a SEARCH CHARSET ISO-8859-1 ALL")
    assert (error.value.status, error.value.code) == ("NO", "BADCHARSET (US-ASCII UTF-8)")


@pytest.mark.parametrize(("line", "message"), [
    (b"a", "expected SP at offset 1, found the end of the command"),
    (b"+a NOOP", "expected a tag at offset 0, found '+a NOOP'"),
    (b"a FROB", "unknown command FROB"),
    (b"a UID SELECT INBOX", "UID SELECT is not a command"),
    (b"a NOOP extra", "expected the end of the command at offset 6, found ' extra'"),
    (b"a LOGIN alice", "expected SP at offset 13, found the end of the command"),
    (b'a LOGIN "al\\x" pw', 'expected \\\\ or \\" after a backslash in a quoted string at'),
    (b'a LOGIN "alice pw', "expected a closing quote at offset 17"),
    (b"a LOGIN {9}\r\nalice pw", "expected 9 octets of literal data at offset 8"),
    (b"a FETCH 0 FLAGS", "bad sequence set '0' at offset 8"),
    (b"a FETCH 1:x FLAGS", "bad sequence set '1:' at offset 8"),
    (b"a SEARCH TEXT caf\xc3\xa9", "expected SP at offset 17, found '\\\\xc3"),
    (b"a FETCH 99999999999 FLAGS", "bad sequence set '99999999999' at offset 8"),
    (b"a FETCH 1 (FLAGS", "expected SP or ')' at offset 16, found the end of the command"),
    (b"a FETCH 1 (FLAGS]", "expected SP or ')' at offset 16, found ']'"),
    (b"a FETCH 1 FLAGZ", "unknown FETCH data item 'FLAGZ' at offset 10"),
    (b"a FETCH 1 BODY[0]", "expected ] closing the section at offset 15"),
    (b"a FETCH 1 BODY[MIME]", "expected a part number before MIME at offset 19"),
    (b"a FETCH 1 BODY[1.]", "expected HEADER, HEADER.FIELDS, TEXT or MIME after the part"),
    (b"a FETCH 1 BODY[]<0.0>", "expected a non-zero partial count at offset 20"),
    (b"a FETCH 1 BODY[HEADER.FIELDS ()]", "expected a header field name at offset 30"),
    (b"a SEARCH FROB", "unknown search key 'FROB' at offset 9"),
    (b"a SEARCH SINCE 31-Feb-2026", "impossible date at offset 15"),
    (b"a SEARCH ON 1-Foo-2026", "expected a date such as 1-Feb-2026 at offset 12"),
    (b"a SEARCH OR ALL", "expected SP at offset 15"),
    (b"a SEARCH " + b"(" * 17 + b"ALL" + b")" * 17, "than 16 levels (parentheses, NOT, OR)"),
    (b"a SEARCH " + b"NOT " * 5000 + b"ALL", "nesting deeper than 16 levels"),
    (b"a SEARCH " + b"OR ALL " * 5000 + b"ALL", "nesting deeper than 16 levels"),
    (b"a STATUS INBOX (SIZE)", "unknown STATUS item 'SIZE' at offset 16"),
    (b"a STATUS INBOX ()", "expected at least one STATUS item at offset 17"),
    (b"a STORE 1 FLAGS.LOUD (x)", "expected SP at offset 15, found '.LOUD (x)'"),
    (b"a STORE 1 TAGS (x)", "expected FLAGS, +FLAGS or -FLAGS at offset 10"),
    (b"a APPEND INBOX abc", "expected the message as a literal {n} at offset 15"),
    (b'a APPEND INBOX "1-Feb-2026" {1}\r\nx', "expected a date-time such as"),
    (b"a AUTHENTICATE PLAIN ab$=", "expected a base64 initial response (or =) at offset 21"),
    (b"a LOGIN \xff\xfe pw", "expected a user name at offset 8"),
    (b"a LOGIN {2}\r\n\xff\xfe pw", "a user name before offset 15 is not UTF-8"),
])
def test_errors_say_what_and_where(line: bytes, message: str) -> None:
    with pytest.raises(imap.CommandSyntaxError) as error:
        imap.parse_command(line)
    assert message in error.value.reason
    assert error.value.status == "BAD"


def test_head_is_read_without_the_arguments() -> None:
    assert imap.parse_head(b"t7 uid fetch 1:* (FLAGS {3}\r\n") == ("t7", "FETCH", True)
    assert imap.parse_head(b"t8 APPEND INBOX {10}\r\n") == ("t8", "APPEND", False)
