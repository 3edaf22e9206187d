# Sample analysed hops and a sample report, shared by the report tests.
from __future__ import annotations

from labctl.analysis.results import Conversation, Endpoint, Hop
from labctl.reports import CheckResult, Report


def sample_hops() -> list[Hop]:
    smtp = Conversation(
        Endpoint("10.77.1.10", 40001),
        Endpoint("10.77.1.25", 587),
        "alice-lan",
        "SMTP",
        "sender-ua",
        "sender-mta",
        transcript=["S: 220 mail.crepes.fr", "C: EHLO pc"],
    )
    stray = Conversation(
        Endpoint("10.77.2.66", 40002),
        Endpoint("10.77.2.26", 25),
        "internet",
        "SMTP",
        None,
        "receiver-mta",
    )
    return [
        Hop("sender-ua", "sender-mta", "alice-lan", "captures/alice-lan.pcap", [smtp]),
        Hop(None, "receiver-mta", "internet", "captures/internet.pcap", [stray]),
    ]


def sample_report() -> Report:
    checks = [
        CheckResult(name="submission", passed=True, score=1, max_score=1, output="ok"),
        CheckResult(name="dialog", passed=False, score=0, max_score=2.5, output="missing QUIT"),
    ]
    return Report.build("basic-delivery", "local", checks, sample_hops())
