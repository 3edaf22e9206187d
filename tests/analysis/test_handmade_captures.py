# The hand-made captures of tests/data/pcaps/handmade/: the files are what
# handmade_captures.py makes (so they cannot drift silently), and the whole
# conversations among them read as their dialogs say, from the file through
# `labctl analyze`'s own path (reader, reassembly, identification, observer, report).
from __future__ import annotations

import json

from labctl.analysis import analyze_pcap
from labctl.analysis.dialog import TLS, UNREADABLE, HttpExchange, ImapAction
from labctl.analysis.results import Conversation
from labctl.model import HTTP, IMAP, POP3, SMTP, Addressing
from labctl.reports import ConversationReport
from tests.analysis.handmade_captures import HANDMADE, captures


def test_the_stored_captures_are_what_the_script_makes() -> None:
    made = captures()
    stored = {path.name for path in HANDMADE.iterdir()}
    assert stored == set(made), "run: python -m tests.analysis.handmade_captures"
    changed = [name for name, data in made.items() if (HANDMADE / name).read_bytes() != data]
    assert changed == [], "run: python -m tests.analysis.handmade_captures"


def _one(name: str, local: Addressing, protocol: str) -> Conversation:
    [conversation] = analyze_pcap(HANDMADE / name, "internet", local)
    assert conversation.protocol == protocol and conversation.dialog is not None
    return conversation


def test_tls_after_starttls(local: Addressing) -> None:
    conversation = _one("smtp_starttls.pcap", local, SMTP)
    assert conversation.dialog is not None
    assert conversation.dialog.labels() == ["220", "EHLO", "250", "STARTTLS", "220", "TLS"]
    assert conversation.dialog.tls_from == 1.6 and conversation.dialog.problems == []
    assert conversation.transcript[-1] == (
        "C: [TLS: 17 bytes from the client, 9 from the server, encrypted]")
    assert ConversationReport.from_conversation(conversation).tls
    assert conversation.dialog.steps[-1].kind == TLS


def test_imap_literals_follow_the_server_s_answer(local: Addressing) -> None:
    continued = _one("imap_literal_continued.pcap", local, IMAP).dialog
    assert continued is not None
    assert continued.labels() == ["OK", "ID", "+", "ID", "OK", "LOGOUT", "BYE", "OK"]
    assert continued.imap == [ImapAction("ID", '("name" {4}\nmutt)', "OK"),
                              ImapAction("LOGOUT", "", "OK")]
    assert continued.problems == []
    refused = _one("imap_literal_refused.pcap", local, IMAP).dialog
    assert refused is not None
    assert refused.labels() == ["OK", "XFROB", "BAD", "LOGOUT", "BYE", "OK"]
    assert [action.result for action in refused.imap] == ["BAD", "OK"]
    assert refused.problems == ["client byte 0 at 1.200000: XFROB refused by the grammar:"
                                " unknown command XFROB; the server answered BAD"]


def test_http_reads_on_after_a_request_it_cannot_read(local: Addressing) -> None:
    dialog = _one("http_resync.pcap", local, HTTP).dialog
    assert dialog is not None
    assert dialog.labels() == ["unreadable", "GET", "200", "body"]
    assert dialog.steps[0].kind == UNREADABLE
    assert dialog.http == [HttpExchange("GET", "/inbox", 200, 0, 5)]
    assert dialog.problems[1] == ("client byte 50 at 1.300000: read again from this request on"
                                  " (0 client and 47 server octets skipped)")


def _pipelined(name: str, local: Addressing) -> list[dict[str, object]]:
    report = ConversationReport.from_conversation(_one(name, local, POP3))
    commands: list[dict[str, object]] = json.loads(report.model_dump_json())["pipelined_commands"]
    return commands


def test_pop3_pipelining_is_a_fact_in_the_json(local: Addressing) -> None:
    not_offered = _pipelined("pop3_pipelined_not_offered.pcap", local)
    assert not_offered == [
        {"command": "PASS", "after": "USER", "pipelining_offered": False, "allowed": False,
         "time": 1.4},
        {"command": "QUIT", "after": "RETR", "pipelining_offered": False, "allowed": False,
         "time": 1.6}]
    offered = _pipelined("pop3_pipelined_offered.pcap", local)
    assert [(c["command"], c["pipelining_offered"], c["allowed"]) for c in offered] == [
        ("PASS", True, True), ("QUIT", True, True)]
    assert _pipelined("pop3_one_at_a_time.pcap", local) == []


def test_the_readme_names_every_hand_made_capture() -> None:
    readme = (HANDMADE.parent / "README.md").read_text()
    unnamed = [name for name in captures() if name not in readme
               and not name.startswith(("smtp_ethernet", "smtp_sll", "smtp_null", "smtp_loop",
                                        "smtp_raw", "smtp_ipv4link", "two_connections_"))]
    assert unnamed == []
