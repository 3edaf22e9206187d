# The IMAP observer on hand-written conversations (literals, IDLE, AUTHENTICATE,
# STARTTLS, pipelining, broken and truncated input, random input) and on real traffic:
# Python's imaplib against maillab's IMAP server and against Dovecot, captured with
# tcpdump, checked command by command against tshark's IMAP dissector.
from __future__ import annotations

import imaplib
from pathlib import Path

import pytest
from hypothesis import given, settings

from labctl.agent_contract import FetchOptions
from labctl.analysis.dialog import (
    COMMAND,
    CONTINUATION,
    PAYLOAD,
    REPLY,
    TLS,
    UNREADABLE,
    Dialog,
    ImapAction,
)
from labctl.analysis.dialogs.imap import observe
from labctl.analysis.results import Segment
from roles.mailserver.storage import Mailboxes
from roles.useragent.imap_client import fetch_imap
from roles.useragent.mail_clients import Account, Endpoint
from tests.analysis.dialogs.conftest import BOB, HOST, NETWORK, PASSWORD
from tests.analysis.dialogs.loopback import capturing, tcp_conversations, tshark_fields
from tests.analysis.dialogs.scripts import Script, mangled, segments
from tests.conftest import TEST_PLAN

GREETING = (False, b"* OK [CAPABILITY IMAP4rev1 LITERAL+ IDLE STARTTLS] ready\r\n")
SESSION: Script = [
    GREETING,
    (True, b"a1 LOGIN bob secret\r\n"),
    (False, b"a1 OK logged in\r\n"),
    (True, b"a2 SELECT INBOX\r\na3 UID FETCH 1:* (FLAGS BODY.PEEK[1]<0.40>)\r\n"),
    (False, b"* 2 EXISTS\r\n* FLAGS (\\Seen)\r\na2 OK [READ-WRITE] SELECT completed\r\n"
            b"* 1 FETCH (UID 7 FLAGS () BODY[1]<0> {5}\r\nhello)\r\na3 OK done\r\n"),
    (True, b"a4 APPEND Sent (\\Seen) {11}\r\n"),
    (False, b"+ Ready\r\n"),
    (True, b"hello world\r\n"),
    (False, b"a4 OK [APPENDUID 1 2] done\r\n"),
    (True, b"a5 IDLE\r\n"),
    (False, b"+ idling\r\n* 3 EXISTS\r\n"),
    (True, b"DONE\r\n"),
    (False, b"a5 OK IDLE done\r\n"),
    (True, b'a6 CREATE "Work Plans"\r\na7 STORE 1 +FLAGS (\\Deleted)\r\na8 LOGOUT\r\n'),
    (False, b"a6 OK created\r\na7 OK stored\r\n* BYE bye\r\na8 OK bye\r\n"),
]
# Pieces the random conversations mix in, beyond the session's own.
PIECES: Script = [
    (True, b"a1 AUTHENTICATE PLAIN\r\n"), (False, b"+ \r\n"), (True, b"AGJvYgBzZWNyZXQ=\r\n"),
    (True, b"a1 STARTTLS\r\n"), (False, b"a1 OK begin\r\n"), (False, b"* PREAUTH hi\r\n"),
    (True, b"a2 APPEND INBOX {5+}\r\nhello\r\n"), (True, b"a3 APPEND INBOX {4294967295+}\r\n"),
    (True, b"a3 APPEND INBOX {99999999999}\r\n"), (False, b"a3 NO [TOOBIG] no\r\n"),
    (True, b"a4 ID {3}\r\n"), (True, b"a5 UID MOVE 1 X\r\n"), (False, b"* BYE\r\n")]
SESSION_LABELS = [
    "OK", "LOGIN", "OK", "SELECT", "EXISTS", "FLAGS", "OK", "UID FETCH", "FETCH", "BODY[1]<0>",
    "OK", "APPEND", "+", "message", "OK", "IDLE", "+", "EXISTS", "DONE", "OK", "CREATE", "OK",
    "STORE", "OK", "LOGOUT", "BYE", "OK"]


def check_answers(dialog: Dialog) -> None:
    """Every tagged reply answers the command with its tag, sent before it."""
    for index, step in enumerate(dialog.steps):
        if step.answers is not None:
            command = dialog.steps[step.answers]
            assert command.kind == COMMAND and step.answers < index
            if step.label != "+":
                assert step.text.split(" ", 1)[0] == command.text.split(" ", 1)[0]


def test_a_session_in_protocol_order() -> None:
    dialog = observe(segments(SESSION))
    assert dialog.labels() == SESSION_LABELS
    assert dialog.problems == []
    check_answers(dialog)
    assert [step.answers for step in dialog.steps if step.label == "+"] == [11, 15]
    assert dialog.payloads() == [b"hello", b"hello world"]
    assert [s.from_client for s in dialog.steps if s.kind == PAYLOAD] == [False, True]
    assert dialog.steps[7].text == "a3 UID FETCH 1:* (FLAGS BODY.PEEK[1]<0.40>)"
    assert dialog.steps[8].text == "* 1 FETCH (UID 7 FLAGS () BODY[1]<0> {5}\n)"
    assert dialog.steps[11].timestamp == 5.0 and dialog.steps[13].timestamp == 7.0
    assert dialog.imap == [
        ImapAction("LOGIN", "bob", "OK"), ImapAction("SELECT", "INBOX", "OK"),
        ImapAction("UID FETCH", "1:* (FLAGS BODY.PEEK[1]<0.40>)", "OK"),
        ImapAction("APPEND", "Sent (\\Seen) 11 octets", "OK"), ImapAction("IDLE", "", "OK"),
        ImapAction("CREATE", "Work Plans", "OK"), ImapAction("STORE", "1 +FLAGS (\\Deleted)", "OK"),
        ImapAction("LOGOUT", "", "OK")]


@pytest.mark.parametrize("split", [1, 3, 7])
def test_segment_boundaries_do_not_matter(split: int) -> None:
    whole, cut = observe(segments(SESSION)), observe(segments(SESSION, split))
    assert (cut.labels(), cut.imap, cut.payloads(), cut.problems) == (
        whole.labels(), whole.imap, whole.payloads(), whole.problems)


def test_a_refused_literal_drops_the_command_and_the_next_one_reads() -> None:
    dialog = observe(segments([
        (False, b"* PREAUTH welcome bob\r\n"), (True, b"a1 APPEND INBOX {999999}\r\n"),
        (False, b"a1 NO [TOOBIG] no\r\n"),
        (True, b"a2 NOOP\r\n"), (False, b"a2 OK\r\n")]))
    assert dialog.labels() == ["PREAUTH", "APPEND", "NO", "NOOP", "OK"]
    assert [s.answers for s in dialog.steps] == [None, None, 1, None, 3]
    assert dialog.imap[0] == ImapAction("APPEND", "INBOX {999999}", "NO")
    assert dialog.problems == []


def test_non_synchronizing_literal_and_sasl_exchange() -> None:
    dialog = observe(segments([
        GREETING, (True, b"a1 AUTHENTICATE PLAIN\r\n"), (False, b"+ \r\n"),
        (True, b"AGJvYgBzZWNyZXQ=\r\n"), (False, b"a1 OK welcome\r\n"),
        (True, b"a2 APPEND INBOX {5+}\r\nhello\r\n"), (False, b"a2 OK appended\r\n")]))
    assert dialog.labels() == ["OK", "AUTHENTICATE", "+", "SASL response", "OK", "APPEND",
                               "message", "OK"]
    assert dialog.steps[3].kind == CONTINUATION and dialog.steps[3].text == "AGJvYgBzZWNyZXQ="
    assert dialog.imap == [ImapAction("AUTHENTICATE", "PLAIN", "OK"),
                           ImapAction("APPEND", "INBOX 5 octets", "OK")]


def test_starttls_ends_the_readable_part_and_injected_commands_are_named() -> None:
    dialog = observe(segments([
        GREETING, (True, b"a1 STARTTLS\r\na2 LOGIN bob secret\r\n"),
        (False, b"a1 OK begin TLS now\r\n"), (True, b"\x16\x03\x01\x02\x00garbage"),
        (False, b"\x16\x03\x03\x00\x10more")]))
    assert dialog.labels() == ["OK", "STARTTLS", "OK", "TLS"]
    assert dialog.tls_from == 2.0
    assert dialog.problems == ["the client sent 21 octets after STARTTLS before the server"
                               " accepted it (ignored, as a server must)"]


def test_commands_outside_the_grammar_still_count() -> None:
    dialog = observe(segments([
        GREETING, (True, b'a1 ID ("name" "mutt")\r\n'), (False, b"* ID NIL\r\na1 OK ID done\r\n"),
        (True, b"a2 LOGIN bob\r\n"), (False, b"a2 BAD no password\r\n")]))
    assert dialog.labels() == ["OK", "ID", "ID", "OK", "LOGIN", "BAD"]
    assert dialog.imap == [ImapAction("ID", '("name" "mutt")', "OK"),
                           ImapAction("LOGIN", "bob", "BAD")]
    assert dialog.problems == [  # ID is an extension the server knows: no problem
        "client byte 23 at 3.000000: LOGIN refused by the grammar: expected SP at offset 12,"
        " found the end of the command; the server answered BAD"]


def test_bytes_that_are_no_imap_are_unreadable_where_they_are() -> None:
    dialog = observe(segments([
        GREETING, (True, b"\x00\x01 no tag\r\n"), (False, b"?? what\r\n"),
        (True, b"a1 NOOP\r\n"), (False, b"a1 OK\r\n")]))
    assert [s.kind for s in dialog.steps] == [REPLY, UNREADABLE, UNREADABLE, COMMAND, REPLY]
    assert dialog.problems[0].startswith("client byte 0 at 1.000000: not an IMAP command")
    assert dialog.problems[1].startswith("server byte 58 at 2.000000: not an IMAP response")
    assert dialog.imap == [ImapAction("NOOP", "", "OK")]


def test_a_truncated_capture_says_what_is_missing() -> None:
    dialog = observe(segments([
        GREETING, (True, b"a1 LOGIN bob secret\r\na2 SELECT INBOX\r\na3 FETCH 1 BODY[]\r\n"),
        (False, b"a1 OK\r\n"), (True, b"a4 NOO")]))
    assert dialog.labels() == ["OK", "LOGIN", "OK", "SELECT", "FETCH"]
    assert dialog.imap[1:] == [ImapAction("SELECT", "INBOX", ""),
                               ImapAction("FETCH", "1 (BODY[])", "")]
    assert dialog.problems == [
        "no tagged response to a2 SELECT (the capture ends)",
        "no tagged response to a3 FETCH (the capture ends)",
        "client byte 57 at 3.000000: 6 octets that are no complete command (the capture ends)"]
    cut = observe(segments([GREETING, (True, b"a1 FETCH 1 BODY[]\r\n"),
                            (False, b"* 1 FETCH (BODY[] {100}\r\nSubject: hi\r\n")]))
    assert cut.problems[-1] == ("server byte 58 at 2.000000: the last response announces a"
                                " literal of 100 octets; 13 arrived")


def test_a_capture_that_starts_inside_the_session() -> None:
    dialog = observe(segments([
        (True, b"a9 FETCH 1 (FLAGS)\r\n"), (False, b"* 1 FETCH (FLAGS ())\r\na9 OK\r\n")]))
    assert dialog.labels() == ["FETCH", "FETCH", "OK"]
    assert dialog.imap == [ImapAction("FETCH", "1 (FLAGS)", "OK")]
    assert dialog.problems[0].startswith("no server greeting (the client speaks first)")


def test_implicit_tls_is_reported_as_such() -> None:
    dialog = observe(segments([(True, b"\x16\x03\x01\x00\x05\x01hello"), (False, b"\x16\x03\x03")]))
    assert [s.kind for s in dialog.steps] == [TLS] and dialog.tls_from == 0.0


@settings(max_examples=300, deadline=None)
@given(mangled(SESSION + PIECES))
def test_random_input_never_raises(conversation: list[Segment]) -> None:
    dialog = observe(conversation)
    check_answers(dialog)
    commands = [s for s in dialog.steps if s.kind == COMMAND]  # IDLE's DONE, SASL lines:
    assert len(dialog.imap) == len(commands)  # CONTINUATION steps, no command of their own


# -- real traffic: imaplib against maillab's server and Dovecot, tshark as the oracle
MESSAGE = b"From: alice@crepes.fr\r\nSubject: hi\r\n\r\nDo you like ketchup?\r\n"


def imaplib_session(port: int) -> str:
    """Folders, fetches, append, flags, copy and IDLE; returns imaplib's tag prefix."""
    client = imaplib.IMAP4(HOST, port)
    client.login("bob", PASSWORD)
    client.create("Work")
    client.select("INBOX")
    client.fetch("1", "(FLAGS BODY.PEEK[HEADER])")
    client.uid("FETCH", "1:*", "(BODY[])")
    client.append("Sent", "(\\Seen)", None, MESSAGE)
    client.store("1", "+FLAGS", "(\\Flagged)")
    client.copy("1", "Work")
    prefix: object = client.tagpre  # bytes, whatever typeshed says
    tag = prefix.decode() if isinstance(prefix, bytes) else str(prefix)
    client.send(f"{tag}99 IDLE\r\n".encode())  # imaplib of Python 3.11 has no IDLE
    assert client.readline().startswith(b"+")
    client.send(b"DONE\r\n")
    assert client.readline().startswith(f"{tag}99 OK".encode())
    client.logout()
    return tag


def test_imaplib_sessions_read_as_tshark_reads_them(
        imap_server: tuple[int, Mailboxes], tmp_path: Path) -> None:
    port, store = imap_server
    store.deliver(BOB, MESSAGE)
    pcap = tmp_path / "imap.pcap"
    with capturing(pcap, HOST, port):
        tag = imaplib_session(port)
    (conversation,) = tcp_conversations(pcap, port)
    dialog = observe(conversation)
    assert dialog.problems == []
    check_answers(dialog)
    assert [(a.command, a.arguments, a.result) for a in dialog.imap] == [
        ("CAPABILITY", "", "OK"), ("LOGIN", "bob", "OK"), ("CREATE", "Work", "OK"),
        ("SELECT", "INBOX", "OK"), ("FETCH", "1 (FLAGS BODY.PEEK[HEADER])", "OK"),
        ("UID FETCH", "1:* (BODY[])", "OK"),
        ("APPEND", f"Sent (\\Seen) {len(MESSAGE)} octets", "OK"),
        ("STORE", "1 +FLAGS (\\Flagged)", "OK"), ("COPY", "1 Work", "OK"), ("IDLE", "", "OK"),
        ("LOGOUT", "", "OK")]
    assert dialog.payloads() == [MESSAGE.split(b"\r\n\r\n")[0] + b"\r\n\r\n", MESSAGE, MESSAGE]
    # tshark's dissector does not follow literals (it takes the lines of the APPEND message
    # for requests): its rows are compared where the tag is one imaplib sent.
    decode = f"tcp.port=={port},imap"
    requests = [(t, c.upper()) for row in tshark_fields(pcap, decode, "imap.request_tag",
                                                        "imap.request.command")
                for t, c in zip(*(value.split("\x1f") for value in row), strict=False)
                if t.startswith(tag)]
    ours = [(s.text.split(" ")[0], s.label.split(" ")[-1]) for s in dialog.steps
            if s.kind == COMMAND]
    assert ours == requests
    answered = [t for row in tshark_fields(pcap, decode, "imap.response_tag")
                for t in row[0].split("\x1f") if t.startswith(tag)]
    assert answered == [s.text.split(" ")[0] for s in dialog.steps
                        if s.kind == REPLY and s.answers is not None and s.label != "+"]


def test_the_user_agents_fetch_reads_as_tshark_reads_it(
        imap_server: tuple[int, Mailboxes], tmp_path: Path) -> None:
    port, store = imap_server
    store.deliver(BOB, MESSAGE)
    store.create_folder(BOB, "Read")
    pcap, client = tmp_path / "fetch.pcap", TEST_PLAN.address("receiver-ua", NETWORK)
    options = FetchOptions(part="1", partial=(0, 12), move_to="Read", list_folders=True)
    with capturing(pcap, HOST, port):
        fetched = fetch_imap(Endpoint(HOST, port), Account(BOB, PASSWORD), client, options)
    assert fetched.messages == [b"Do you like "]
    (conversation,) = tcp_conversations(pcap, port)
    dialog = observe(conversation)
    assert dialog.problems == []
    check_answers(dialog)
    actions = {(a.command, a.arguments, a.result) for a in dialog.imap}
    assert {("LOGIN", "bob", "OK"), ("SELECT", "INBOX", "OK"),
            ("UID MOVE", "1 Read", "OK")} <= actions
    assert any(a.command.endswith("FETCH") and "BODY.PEEK[1]<0.12>" in a.arguments
               for a in dialog.imap)
    assert b"Do you like " in dialog.payloads()
    decode = f"tcp.port=={port},imap"
    requests = [tuple(value.split("\x1f")[0] for value in row) for row in tshark_fields(
        pcap, decode, "imap.request_tag", "imap.request.command")]
    assert requests == [(s.text.split(" ")[0], s.label.split(" ")[-1]) for s in dialog.steps
                        if s.kind == COMMAND]
