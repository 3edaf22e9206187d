# The Report JSON contract: the original keys kept, new keys added with defaults (an
# old report still reads), round trip, built from analysed hops and their dialogs.
from __future__ import annotations

import json

from labctl.reports import ConversationReport, Report
from tests.reports.report_samples import SCRIPT_SUBJECT, fetch_conversations, sample_report

REPORT_KEYS = {"scenario", "backend", "score", "max_score", "passed", "checks", "hops"}
NEW_REPORT_KEYS = {"programs"}  # student programs (information, not graded)
CHECK_KEYS = {"name", "passed", "score", "max_score", "output"}
HOP_KEYS = {"client_role", "server_role", "network", "protocols", "pcap", "conversations"}
CONVERSATION_KEYS = {"client", "server", "protocol", "transcript"}
# Added by the analyzer's reports; each has a default.
NEW_HOP_KEYS = {"problems", "comments", "incomplete"}
NEW_CONVERSATION_KEYS = {
    "hop", "transport", "start", "end", "phases", "tls", "problems", "smtp_transactions",
    "pop3_actions", "pop3_reached_update", "imap_actions", "http_exchanges", "dns_queries",
    "pipelined_commands",
}


def test_build_totals_the_checks() -> None:
    report = sample_report()
    assert (report.score, report.max_score, report.passed) == (1, 3.5, False)
    assert Report.build("empty", "local", [], []).passed is False


def test_contract_keys_are_the_original_ones_plus_the_new_ones() -> None:
    data = json.loads(sample_report().to_json())
    assert set(data) == REPORT_KEYS | NEW_REPORT_KEYS
    assert all(set(check) == CHECK_KEYS for check in data["checks"])
    assert all(set(hop) == HOP_KEYS | NEW_HOP_KEYS for hop in data["hops"])
    conversations = [c for hop in data["hops"] for c in hop["conversations"]]
    assert conversations
    assert all(set(c) == CONVERSATION_KEYS | NEW_CONVERSATION_KEYS for c in conversations)


def test_an_old_report_without_the_new_keys_still_reads() -> None:
    data = json.loads(sample_report().to_json())
    for key in NEW_REPORT_KEYS:
        del data[key]
    for hop in data["hops"]:
        for key in NEW_HOP_KEYS:
            del hop[key]
        for conversation in hop["conversations"]:
            for key in NEW_CONVERSATION_KEYS:
                del conversation[key]
    old = Report.from_json(json.dumps(data))
    first = old.hops[0].conversations[0]
    assert (first.client, first.transcript) == ("198.18.1.10:40001", ["S: 220 mail.crepes.fr",
                                                                    "C: EHLO pc"])
    assert (first.phases, first.smtp_transactions, first.transport) == (None, [], "tcp")
    assert set(json.loads(old.to_json())["hops"][0]) == HOP_KEYS | NEW_HOP_KEYS


def test_hops_are_summarized_from_analysis() -> None:
    data = json.loads(sample_report().to_json())
    hop = data["hops"][0]
    assert {k: hop[k] for k in HOP_KEYS - {"conversations"}} == {
        "client_role": "sender-ua", "server_role": "sender-mta", "network": "alice-lan",
        "protocols": ["SMTP"], "pcap": "captures/alice-lan.pcap"}
    conversation = hop["conversations"][0]
    assert {k: conversation[k] for k in CONVERSATION_KEYS} == {
        "client": "198.18.1.10:40001", "server": "198.18.1.25:587", "protocol": "SMTP",
        "transcript": ["S: 220 mail.crepes.fr", "C: EHLO pc"]}
    assert data["hops"][1]["client_role"] is None
    assert data["hops"][1]["conversations"][0]["hop"] == "198.18.2.66 -> receiver-mta"


def test_phases_and_smtp_facts_come_from_the_conversation() -> None:
    conversation = json.loads(sample_report().to_json())["hops"][0]["conversations"][0]
    phases = conversation["phases"]
    assert phases["handshake_seconds"] == 10.0005 - 10.0
    assert (phases["close"], phases["closed_by"], phases["partial"]) == ("fin", "client", False)
    assert phases["duration_seconds"] == 0.25
    assert conversation["hop"] == "sender-ua -> sender-mta"
    assert conversation["smtp_transactions"] == [{
        "mail_from": "alice@crepes.fr", "rcpt_to": ["bob@hamburger.edu"], "rcpt_refused": [],
        "size": 120, "message_id": "<1@crepes.fr>", "subject": SCRIPT_SUBJECT,
        "body_sha256": "ab" * 32, "accepted": True, "reply": "250"}]
    assert conversation["problems"] == ["a note from the dialog"]


def test_pop3_and_dns_facts() -> None:
    pop3, dns = (ConversationReport.from_conversation(c) for c in fetch_conversations())
    assert [(a.verb, a.ok) for a in pop3.pop3_actions] == [("RETR", True), ("DELE", True)]
    assert pop3.pop3_reached_update and pop3.phases is not None
    assert (pop3.phases.close, pop3.phases.closed_by) == ("rst", "server")
    assert (dns.transport, dns.phases) == ("udp", None)
    assert dns.dns_queries[0].answers == ["10 mail.hamburger.edu."]


def test_unknown_phases_and_no_dialog_read_as_not_known_yet() -> None:
    stray = sample_report().hops[1].conversations[0]
    assert (stray.phases, stray.smtp_transactions, stray.problems) == (None, [], [])


def test_json_round_trip() -> None:
    report = sample_report()
    assert Report.from_json(report.to_json()) == report
    assert Report.from_json(report.to_json(indent=None).encode()) == report


def test_a_newer_report_with_more_keys_still_reads() -> None:
    data = json.loads(sample_report().to_json())
    data["junit"] = "<testsuite/>"
    data["checks"][0]["duration_s"] = 1.5
    report = Report.from_json(json.dumps(data))
    assert report == sample_report()
    assert set(json.loads(report.to_json())) == REPORT_KEYS | NEW_REPORT_KEYS
