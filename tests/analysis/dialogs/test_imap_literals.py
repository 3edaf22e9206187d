# Synchronizing literals of commands maillab's grammar refuses: the observer waits for
# the captured server's answer to the announcement, `+` (the literal follows and is part
# of the command) or a tagged NO/BAD (the client drops the command). On hand-written
# conversations, and on real traffic: a raw client sends ID (an extension Dovecot has
# and maillab's server has not) and an unknown command, each announcing a literal {n}
# that it sends only after a `+`, to maillab's server and to Dovecot. Whatever each
# server answers, the observer follows it and stays in step: every command read, each
# result the one the client read, nothing unreadable.
from __future__ import annotations

import socket
from pathlib import Path

from labctl.analysis.dialog import COMMAND, REPLY, UNREADABLE, ImapAction
from labctl.analysis.dialogs.imap import observe
from roles.mailserver.storage import Mailboxes
from tests.analysis.dialogs.conftest import HOST
from tests.analysis.dialogs.loopback import capturing, tcp_conversations, tshark_fields
from tests.analysis.dialogs.scripts import segments
from tests.analysis.dialogs.test_imap import GREETING, check_answers


def test_a_command_the_grammar_refuses_waits_for_the_server_s_answer_to_its_literal() -> None:
    knows_id = observe(segments([
        GREETING, (True, b'a1 ID ("name" {4}\r\n'), (False, b"+ OK\r\n"),
        (True, b"mutt)\r\n"), (False, b"* ID NIL\r\na1 OK ID completed\r\n"),
        (True, b"a2 NOOP\r\n"), (False, b"a2 OK\r\n")]))
    assert knows_id.labels() == ["OK", "ID", "+", "ID", "OK", "NOOP", "OK"]
    assert knows_id.steps[1].text == 'a1 ID ("name" {4}\nmutt)'
    assert [s.answers for s in knows_id.steps] == [None, None, 1, None, 1, None, 5]
    assert knows_id.imap == [ImapAction("ID", '("name" {4}\nmutt)', "OK"),
                             ImapAction("NOOP", "", "OK")]
    assert knows_id.problems == []  # the server knew the extension
    refuses = observe(segments([
        GREETING, (True, b"a1 XFROB {4}\r\n"), (False, b"a1 BAD unknown command\r\n"),
        (True, b"a2 NOOP\r\n"), (False, b"a2 OK\r\n")]))
    assert refuses.labels() == ["OK", "XFROB", "BAD", "NOOP", "OK"]
    assert refuses.imap == [ImapAction("XFROB", "{4}", "BAD"), ImapAction("NOOP", "", "OK")]
    assert refuses.problems == ["client byte 0 at 1.000000: XFROB refused by the grammar:"
                                " unknown command XFROB; the server answered BAD"]


def test_a_literal_the_server_took_is_never_read_as_commands() -> None:
    dialog = observe(segments([  # APPEND before logging in: maillab would refuse it
        GREETING, (True, b"a1 APPEND INBOX {11}\r\n"), (False, b"+ go ahead\r\n"),
        (True, b"a9 LOGOUT\r\n\r\n"), (False, b"a1 NO log in first\r\n"),
        (True, b"a2 NOOP\r\n"), (False, b"a2 OK\r\n")]))
    assert dialog.labels() == ["OK", "APPEND", "+", "NO", "NOOP", "OK"]
    assert dialog.imap == [ImapAction("APPEND", "INBOX {11}\na9 LOGOUT", "NO"),
                           ImapAction("NOOP", "", "OK")]
    assert dialog.problems == [
        "client byte 0 at 1.000000: APPEND refused by the grammar: APPEND not allowed in the"
        " not authenticated state; the server answered NO"]
    check_answers(dialog)


# (tag, the line announcing the literal, the literal and the rest of the command)
COMMANDS = [("a1", b'a1 ID ("name" {4}\r\n', b"mutt)\r\n"),
            ("a2", b"a2 XFROB {4}\r\n", b"abcd\r\n")]


def raw_session(port: int) -> list[tuple[str, bool, str]]:
    """Send COMMANDS (each literal only after a `+`) and LOGOUT; per command, (tag,
    whether the server said `+`, the status of its tagged response)."""
    results = []
    with socket.create_connection((HOST, port)) as sock, sock.makefile("rb") as replies:
        assert replies.readline().startswith(b"* OK")
        for tag, announcing, rest in COMMANDS:
            sock.sendall(announcing)
            line = replies.readline()
            continued = line.startswith(b"+")
            if continued:
                sock.sendall(rest)
            while not line.startswith(f"{tag} ".encode()):
                line = replies.readline()
                assert line, "the server closed the connection"
            results.append((tag, continued, line.split()[1].decode()))
        sock.sendall(b"a3 LOGOUT\r\n")
        while not replies.readline().startswith(b"a3 "):
            pass
    return results


def test_a_refused_command_s_literal_follows_the_real_server(
        imap_server: tuple[int, Mailboxes], tmp_path: Path) -> None:
    port, _ = imap_server
    pcap = tmp_path / "literals.pcap"
    with capturing(pcap, HOST, port):
        results = raw_session(port)
    (conversation,) = tcp_conversations(pcap, port)
    dialog = observe(conversation)
    check_answers(dialog)
    assert [(a.command, a.result) for a in dialog.imap] == [
        ("ID", results[0][2]), ("XFROB", results[1][2]), ("LOGOUT", "OK")]
    assert [s.label for s in dialog.steps if s.label == "+"] == [
        "+" for _, continued, _ in results if continued]
    assert not any(step.kind == UNREADABLE for step in dialog.steps)
    refused = [tag for tag, _, status in results if status != "OK"]
    assert len(dialog.problems) == len(refused)  # the grammar's doubt, confirmed by the server
    assert all("refused by the grammar" in problem for problem in dialog.problems)
    answered = [row[0] for row in tshark_fields(pcap, f"tcp.port=={port},imap",
                                                "imap.response_tag")]
    assert [t for row in answered for t in row.split("\x1f")] == [  # `+` and tagged ones
        s.text.split(" ")[0] for s in dialog.steps if s.kind == REPLY and s.answers is not None]
    assert [s.text.split(" ")[0] for s in dialog.steps if s.kind == COMMAND] == [
        "a1", "a2", "a3"]
