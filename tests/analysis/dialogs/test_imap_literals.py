# Synchronizing literals of commands maillab's grammar refuses, on real traffic: a raw
# client sends ID (an extension Dovecot has and maillab's server has not) and an unknown
# command, each announcing a literal {n} that it sends only after a `+`, to maillab's
# server and to Dovecot. Whatever each server answers (`+` then a tagged result, or a
# tagged NO/BAD at once), the observer follows it and stays in step: every command read,
# each result the one the client read, nothing unreadable.
from __future__ import annotations

import socket
from pathlib import Path

from labctl.analysis.dialog import COMMAND, REPLY, UNREADABLE
from labctl.analysis.dialogs.imap import observe
from roles.mailserver.storage import Mailboxes
from tests.analysis.dialogs.conftest import HOST
from tests.analysis.dialogs.loopback import capturing, tcp_conversations, tshark_fields
from tests.analysis.dialogs.test_imap import check_answers

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
    # (a connection of the server's start-up check may close inside the capture: no data)
    (conversation,) = [c for c in tcp_conversations(pcap, port) if c]
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
