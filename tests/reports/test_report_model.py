# The Report JSON contract: exact keys, round trip, built from analysed hops.
from __future__ import annotations

import json

from labctl.reports import Report
from tests.reports.report_samples import sample_report

REPORT_KEYS = {"scenario", "backend", "score", "max_score", "passed", "checks", "hops"}
CHECK_KEYS = {"name", "passed", "score", "max_score", "output"}
HOP_KEYS = {"client_role", "server_role", "network", "protocols", "pcap", "conversations"}
CONVERSATION_KEYS = {"client", "server", "protocol", "transcript"}


def test_build_totals_the_checks() -> None:
    report = sample_report()
    assert (report.score, report.max_score, report.passed) == (1, 3.5, False)
    assert Report.build("empty", "local", [], []).passed is False


def test_exact_contract_keys() -> None:
    data = json.loads(sample_report().to_json())
    assert set(data) == REPORT_KEYS
    assert all(set(check) == CHECK_KEYS for check in data["checks"])
    assert all(set(hop) == HOP_KEYS for hop in data["hops"])
    conversations = [c for hop in data["hops"] for c in hop["conversations"]]
    assert conversations and all(set(c) == CONVERSATION_KEYS for c in conversations)


def test_hops_are_summarized_from_analysis() -> None:
    data = json.loads(sample_report().to_json())
    assert data["hops"][0] == {
        "client_role": "sender-ua",
        "server_role": "sender-mta",
        "network": "alice-lan",
        "protocols": ["SMTP"],
        "pcap": "captures/alice-lan.pcap",
        "conversations": [
            {
                "client": "10.77.1.10:40001",
                "server": "10.77.1.25:587",
                "protocol": "SMTP",
                "transcript": ["S: 220 mail.crepes.fr", "C: EHLO pc"],
            }
        ],
    }
    assert data["hops"][1]["client_role"] is None


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
    assert set(json.loads(report.to_json())) == REPORT_KEYS
