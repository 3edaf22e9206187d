# Sample analysed hops and a sample report, shared by the report tests: a submission
# with its dialog's facts and TCP phases filled in, and a stray client with neither.
from __future__ import annotations

from labctl.analysis.dialog import Dialog, DnsQuery, Pop3Action, SmtpTransaction
from labctl.analysis.results import CLOSE_FIN, Conversation, Endpoint, Hop, TcpPhases
from labctl.reports import CheckResult, Report

SCRIPT_SUBJECT = "<script>alert(1)</script>"
SUBMISSION_PHASES = TcpPhases(syn=10.0, syn_ack=10.0004, ack=10.0005, first_data=10.001,
                              last_data=10.2, close=CLOSE_FIN, closed_by_client=True,
                              close_time=10.25, seen_from_start=True)


def submission_dialog() -> Dialog:
    return Dialog("SMTP", smtp=[SmtpTransaction(
        mail_from="alice@crepes.fr", rcpt_to=("bob@hamburger.edu",), rcpt_refused=(),
        size=120, message_id="<1@crepes.fr>", subject=SCRIPT_SUBJECT, body_sha256="ab" * 32,
        accepted=True, reply="250")], problems=["a note from the dialog"])


def sample_hops() -> list[Hop]:
    smtp = Conversation(
        Endpoint("198.18.1.10", 40001),
        Endpoint("198.18.1.25", 587),
        "alice-lan",
        "SMTP",
        "sender-ua",
        "sender-mta",
        transcript=["S: 220 mail.crepes.fr", "C: EHLO pc"],
        start=10.0,
        end=10.25,
        phases=SUBMISSION_PHASES,
        dialog=submission_dialog(),
    )
    stray = Conversation(
        Endpoint("198.18.2.66", 40002),
        Endpoint("198.18.2.26", 25),
        "internet",
        "SMTP",
        None,
        "receiver-mta",
        start=11.0,
    )
    return [
        Hop("sender-ua", "sender-mta", "alice-lan", "captures/alice-lan.pcap", [smtp]),
        Hop(None, "receiver-mta", "internet", "captures/internet.pcap", [stray]),
    ]


def fetch_conversations() -> list[Conversation]:
    """A POP3 download that reached UPDATE and a DNS lookup over UDP."""
    pop3 = Conversation(
        Endpoint("198.18.3.10", 40100), Endpoint("198.18.3.26", 110), "bob-lan", "POP3",
        "receiver-ua", "receiver-mta", start=20.0,
        phases=TcpPhases(syn=20.0, syn_ack=20.001, ack=20.002, close="rst",
                         closed_by_client=False, close_time=20.5, seen_from_start=True),
        dialog=Dialog("POP3", pop3_reached_update=True,
                      pop3=[Pop3Action("RETR", "1", True), Pop3Action("DELE", "1", True)]))
    dns = Conversation(
        Endpoint("198.18.2.25", 5353), Endpoint("198.18.2.53", 53), "internet", "DNS",
        "sender-mta", "dns", start=9.0, transport="udp",
        dialog=Dialog("DNS", dns=[DnsQuery("hamburger.edu", "MX", "NOERROR",
                                           ("10 mail.hamburger.edu.",))]))
    return [pop3, dns]


def sample_report() -> Report:
    checks = [
        CheckResult(name="submission", passed=True, score=1, max_score=1, output="ok"),
        CheckResult(name="dialog", passed=False, score=0, max_score=2.5, output="missing QUIT"),
    ]
    return Report.build("basic-delivery", "local", checks, sample_hops())
