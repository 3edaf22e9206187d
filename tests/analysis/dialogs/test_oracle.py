# The dialog against an oracle: real clients and servers (swaks, smtp-source and Postfix;
# poplib and a pipelining client and Dovecot; swaks and poplib against maillab's own
# servers) on a loopback address of the test lab, captured by tcpdump, and tshark told
# the protocol (-d tcp.port==P,smtp / pop). Commands, their arguments, reply codes and
# reply lines must agree one by one. (No message here ends with its "." split across two segments:
# tshark loses such a message; test_smtp.py covers that case.)
from __future__ import annotations

import asyncio
import hashlib
import poplib
import socket
import subprocess
from pathlib import Path

from labctl.analysis import analyze_pcap
from labctl.analysis.dialog import COMMAND, REPLY, Dialog
from labctl.analysis.results import Conversation
from labctl.model import POP3, SMTP
from roles.mailserver.mailbox_store import MaildirMailboxes
from tests.analysis.dialogs.loopback import loopback_capture, tshark_packets
from tests.conftest import TEST_PLAN, wait_for
from tests.peers.dovecot import running_dovecot
from tests.peers.postfix import running_postfix
from tests.peers.tools import run
from tests.roles.conftest import StartServer, free_port

NETWORK = TEST_PLAN.shared_network("sender-mta", "receiver-mta")
HOST = TEST_PLAN.address("receiver-mta", NETWORK)
BOB = "bob@hamburger.edu"
SMTP_FIELDS = ["smtp.req.command", "smtp.req.parameter", "smtp.response.code",
               "smtp.rsp.parameter", "imf.message_id"]


def only_conversation(pcap: Path) -> Conversation:
    """The one conversation seen from its SYN (a server's readiness probe, opened before
    the capture, may be seen closing, its greeting too; the capture's probe datagrams are
    not DNS, so they are noise)."""
    [conversation] = [c for c in analyze_pcap(pcap, NETWORK, TEST_PLAN)
                      if c.phases.seen_from_start]
    return conversation


def only_dialog(pcap: Path, protocol: str) -> Dialog:
    conversation = only_conversation(pcap)
    assert conversation.protocol == protocol and conversation.dialog is not None
    return conversation.dialog


def ours(dialog: Dialog) -> dict[str, list[str]]:
    commands = [s for s in dialog.steps if s.kind == COMMAND]
    replies = [s for s in dialog.steps if s.kind == REPLY]
    return {
        "commands": [s.label.split(" ")[0] for s in commands],
        "parameters": [s.text for s in commands if s.text],
        "codes": [s.code or "" for s in replies],
        "reply lines": [line for s in replies for line in s.text.split("\n")],
    }


def theirs(rows: list[list[list[str]]]) -> dict[str, list[str]]:
    columns: list[list[str]] = [[] for _ in range(4)]
    for row in rows:
        for column, values in zip(columns, row[:4], strict=True):
            column += values
    commands, parameters = columns[0], columns[1]
    if "STAR" in commands:  # tshark reads the verb STARTTLS as STAR with parameter "TLS"
        commands[commands.index("STAR")] = "STARTTLS"
        parameters.remove("TLS")
    return dict(zip(["commands", "parameters", "codes", "reply lines"], columns, strict=True))


def test_swaks_pipelining_into_postfix(tmp_path: Path) -> None:
    port = free_port(HOST)
    body = "".join(f"line {i}\n" for i in range(300)) + ".leading dot\n..two dots\nend\n"
    with (running_postfix("mail.hamburger.edu", (HOST, port), domain="hamburger.edu") as postfix,
          loopback_capture(tmp_path / "swaks.pcap", HOST, port) as pcap):
        sent = run(["swaks", "--server", HOST, "--port", str(port), "--pipeline",
                    "--from", "alice@crepes.fr", "--to", f"{BOB},nobody@crepes.fr",
                    "--header", "Subject: oracle", "--body", body])
        assert sent.returncode == 0, sent.stdout.decode()[-2000:]
        [delivered] = wait_for(lambda: postfix.delivered("bob"), "delivery to bob")
    dialog = only_dialog(pcap, SMTP)
    rows = tshark_packets(pcap, f"tcp.port=={port},smtp", SMTP_FIELDS)
    assert ours(dialog) == theirs(rows)
    assert "MAIL" in ours(dialog)["commands"] and dialog.problems == []
    assert [p.command for p in dialog.pipelined][:2] == ["RCPT TO", "RCPT TO"]  # after MAIL
    assert all(p.pipelining_offered and p.allowed for p in dialog.pipelined)
    [transaction] = dialog.smtp
    [message_id] = [value for row in rows for value in row[4]]
    assert transaction.message_id == message_id and transaction.subject == "oracle"
    assert transaction.rcpt_to == (BOB,) and transaction.rcpt_refused == ("nobody@crepes.fr",)
    delivered_body = delivered.replace(b"\r\n", b"\n").split(b"\n\n", 1)[1]
    assert transaction.body_sha256 == hashlib.sha256(
        delivered_body.replace(b"\n", b"\r\n")).hexdigest()
    assert transaction.accepted


def test_smtp_source_several_messages_one_session(tmp_path: Path) -> None:
    port = free_port(HOST)
    with (running_postfix("mail.hamburger.edu", (HOST, port), domain="hamburger.edu"),
          loopback_capture(tmp_path / "source.pcap", HOST, port) as pcap):
        sent = run(["smtp-source", "-d", "-m", "4", "-l", "20000", "-f", "alice@crepes.fr",
                    "-t", BOB, f"{HOST}:{port}"])
        assert sent.returncode == 0, sent.stderr.decode()
    dialog = only_dialog(pcap, SMTP)
    rows = tshark_packets(pcap, f"tcp.port=={port},smtp", SMTP_FIELDS)
    assert ours(dialog) == theirs(rows)
    assert len(dialog.smtp) == 4 and all(t.accepted for t in dialog.smtp)
    assert dialog.problems == []


def test_poplib_against_dovecot(tmp_path: Path) -> None:
    with running_dovecot({BOB: "ketchup"}, HOST) as dovecot:
        store = MaildirMailboxes(dovecot.mail)
        store.deliver(BOB, b"Subject: one\r\n\r\n.first\r\n" + b"x\r\n" * 50)
        store.deliver(BOB, b"Subject: two\r\n\r\nsecond\r\n")
        with loopback_capture(tmp_path / "pop3.pcap", HOST, dovecot.pop3_port) as pcap:
            client = poplib.POP3(HOST, dovecot.pop3_port, timeout=10)
            client.user("bob")
            client.pass_("ketchup")
            client.stat()
            client.list()
            client.uidl()
            client.retr(1)
            client.top(2, 0)
            client.dele(1)
            client.quit()
    dialog = only_dialog(pcap, POP3)
    rows = tshark_packets(pcap, f"tcp.port=={dovecot.pop3_port},pop",
                         ["pop.request.command", "pop.request.parameter",
                          "pop.response.indicator"])
    commands = [s for s in dialog.steps if s.kind == COMMAND]
    replies = [s for s in dialog.steps if s.kind == REPLY]
    assert [s.label for s in commands] == [v for row in rows for v in row[0]]
    assert [s.text for s in commands if s.text] == [v for row in rows for v in row[1]]
    assert [s.code for s in replies] == [v for row in rows for v in row[2]]
    assert [(a.verb, a.ok) for a in dialog.pop3] == [
        ("STAT", True), ("LIST", True), ("UIDL", True), ("RETR", True), ("TOP", True),
        ("DELE", True)]
    assert dialog.pop3_reached_update and dialog.problems == []
    assert dialog.pipelined == []  # poplib waits for each reply
    assert sum(payload.startswith(b"Subject: one\r\n\r\n..first\r\n")
               for payload in dialog.payloads()) == 1  # RETR 1, dot-stuffed as on the wire


def _pipelining_pop3_client(port: int, ask_capa: bool) -> None:
    """USER and PASS in one write, then STAT and QUIT in one write (after CAPA or not)."""
    with socket.create_connection((HOST, port)) as sock, sock.makefile("rb") as replies:
        assert replies.readline().startswith(b"+OK")
        if ask_capa:
            sock.sendall(b"CAPA\r\n")
            while replies.readline() != b".\r\n":
                pass
        for pair in (b"USER bob\r\nPASS ketchup\r\n", b"STAT\r\nQUIT\r\n"):
            sock.sendall(pair)
            assert [replies.readline()[:3] for _ in range(2)] == [b"+OK"] * 2


def test_pipelining_pop3_client_against_dovecot(tmp_path: Path) -> None:
    with running_dovecot({BOB: "ketchup"}, HOST) as dovecot:
        dialogs = []
        for ask_capa in (True, False):
            with loopback_capture(tmp_path / f"capa-{ask_capa}.pcap", HOST,
                                  dovecot.pop3_port) as pcap:
                _pipelining_pop3_client(dovecot.pop3_port, ask_capa)
            dialogs.append(only_dialog(pcap, POP3))
    offered, not_asked = dialogs
    assert [(p.command, p.after, p.pipelining_offered, p.allowed) for p in offered.pipelined] == [
        ("PASS", "USER", True, True), ("QUIT", "STAT", True, True)]
    assert offered.problems == [] and offered.pop3_reached_update
    assert [(p.command, p.allowed) for p in not_asked.pipelined] == [("PASS", False),
                                                                     ("QUIT", False)]
    assert not_asked.problems[0] == ("client sent PASS before the reply to USER: the server"
                                     " did not offer PIPELINING in its CAPA reply (RFC 2449)")


def test_tshark_is_told_the_port(tmp_path: Path) -> None:
    """The oracle's own sanity: without -d, tshark does not read SMTP on a free port."""
    port = free_port(HOST)
    with (running_postfix("mail.hamburger.edu", (HOST, port), domain="hamburger.edu"),
          loopback_capture(tmp_path / "plain.pcap", HOST, port) as pcap):
        run(["swaks", "--server", HOST, "--port", str(port), "--quit-after", "EHLO"])
    output = subprocess.run(["tshark", "-r", str(pcap), "-Y", "smtp"], capture_output=True,
                            text=True, check=True).stdout
    assert output == ""
    assert only_dialog(pcap, SMTP).labels()[:3] == ["220", "EHLO", "250"]


def _swaks_then_pop3(smtp_at: tuple[str, int], pop3_at: tuple[str, int], pcaps: Path
                     ) -> tuple[Path, Path]:
    """swaks into maillab's SMTP server, then poplib against its POP3 server, captured."""
    with loopback_capture(pcaps / "maillab-smtp.pcap", *smtp_at) as smtp_pcap:
        sent = run(["swaks", "--server", smtp_at[0], "--port", str(smtp_at[1]), "--pipeline",
                    "--from", "alice@crepes.fr", "--to", BOB, "--header", "Subject: ours",
                    "--body", ".dot\nline\n"])
        assert sent.returncode == 0, sent.stdout.decode()[-2000:]
    with loopback_capture(pcaps / "maillab-pop3.pcap", *pop3_at) as pop3_pcap:
        client = poplib.POP3(*pop3_at, timeout=10)
        client.user("bob")
        client.pass_("bob-pw")
        client.uidl()
        client.retr(1)
        client.dele(1)
        client.quit()
    return smtp_pcap, pop3_pcap


async def test_maillab_servers_against_tshark(start_server: StartServer, tmp_path: Path) -> None:
    server = await start_server("receiver-mta")
    smtp_pcap, pop3_pcap = await asyncio.to_thread(
        _swaks_then_pop3, server.address("smtp"), server.address("pop3"), tmp_path)
    smtp_dialog = only_dialog(smtp_pcap, SMTP)
    port = server.address("smtp")[1]
    assert ours(smtp_dialog) == theirs(tshark_packets(smtp_pcap, f"tcp.port=={port},smtp",
                                                     SMTP_FIELDS))
    [transaction] = smtp_dialog.smtp
    assert transaction.accepted and transaction.subject == "ours"
    pop3_dialog = only_dialog(pop3_pcap, POP3)
    port = server.address("pop3")[1]
    rows = tshark_packets(pop3_pcap, f"tcp.port=={port},pop",
                         ["pop.request.command", "pop.request.parameter",
                          "pop.response.indicator"])
    assert [s.label for s in pop3_dialog.steps if s.kind == COMMAND] == [
        v for row in rows for v in row[0]]
    assert [s.code for s in pop3_dialog.steps if s.kind == REPLY] == [
        v for row in rows for v in row[2]]
    assert pop3_dialog.pop3_reached_update and pop3_dialog.problems == []
    assert smtp_dialog.problems == []


def _swaks_starttls(smtp_at: tuple[str, int], pcap: Path) -> Path:
    with loopback_capture(pcap, *smtp_at):
        sent = run(["swaks", "--server", smtp_at[0], "--port", str(smtp_at[1]), "--tls",
                    "--from", "alice@crepes.fr", "--to", BOB, "--body", "secret\n"])
        assert sent.returncode == 0, sent.stdout.decode()[-2000:]
    return pcap


async def test_starttls_plaintext_part_then_tls(start_server: StartServer,
                                                tmp_path: Path) -> None:
    server = await start_server("receiver-mta", tls_dir=tmp_path / "tls")
    pcap = await asyncio.to_thread(_swaks_starttls, server.address("smtp"),
                                   tmp_path / "starttls.pcap")
    conversation = only_conversation(pcap)
    dialog = conversation.dialog
    assert conversation.protocol == SMTP and dialog is not None
    assert dialog.labels() == ["220", "EHLO", "250", "STARTTLS", "220", "TLS"]
    assert dialog.tls_from is not None and dialog.problems == []
    assert conversation.transcript[-1].startswith("C: [TLS: ")
    port = server.address("smtp")[1]
    assert ours(dialog) == theirs(tshark_packets(pcap, f"tcp.port=={port},smtp", SMTP_FIELDS))


def test_implicit_tls_is_identified_by_its_client_hello(tmp_path: Path) -> None:
    """curl to an openssl TLS server on a port of no mail protocol: TLS, from the bytes."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    made = run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                "-subj", "/CN=mail.hamburger.edu", "-keyout", str(key), "-out", str(cert)])
    assert made.returncode == 0, made.stderr.decode()
    port = free_port(HOST)
    server = subprocess.Popen(["openssl", "s_server", "-quiet", "-www", "-accept",
                               f"{HOST}:{port}", "-key", str(key), "-cert", str(cert)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: run(["curl", "-sk", f"https://{HOST}:{port}/"]).returncode == 0,
                 "openssl s_server answering")
        with loopback_capture(tmp_path / "tls.pcap", HOST, port) as pcap:
            fetched = run(["curl", "-sk", "--http1.1", f"https://{HOST}:{port}/"])
            assert fetched.returncode == 0
    finally:
        server.terminate()
        server.wait(timeout=10)
    conversation = only_conversation(pcap)
    assert conversation.protocol == "TLS" and conversation.dialog is not None
    assert conversation.dialog.labels() == ["TLS"]
    assert conversation.dialog.tls_from == conversation.segments[0].timestamp
