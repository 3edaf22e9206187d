# The checks on hops the real analyzer made from capture files (tests/data/pcaps).
from __future__ import annotations

from pathlib import Path

from labctl.analysis import analyze_captures
from labctl.model import addressing
from labctl.scenarios import Evidence, evaluate, parse_scenario

PCAPS = Path(__file__).resolve().parents[1] / "data" / "pcaps"
SCENARIO = parse_scenario(
    """
name: pcaps
steps: [{send: {to: bob@hamburger.edu, subject: s, body: b}}]
checks:
  - {name: relay, points: 1, type: hop_protocol, hop: sender-mta -> receiver-mta, expect: SMTP}
  - {name: dialog, points: 2, type: smtp_dialog}
  - {name: pull, points: 1, type: hop_protocol, hop: receiver-ua -> receiver-mta, expect: SMTP}
""",
    "pcaps",
)


def test_real_smtp_capture_passes_protocol_and_dialog() -> None:
    hops = analyze_captures({"internet": PCAPS / "smtp_real_lo.pcap"}, addressing("local"))
    evidence = Evidence(SCENARIO, hops)
    relay, dialog = (evaluate(check, evidence) for check in SCENARIO.checks[:2])
    assert relay.passed, relay.output
    assert dialog.passed, dialog.output
    assert dialog.score == 2


def test_pop3_on_port_25_is_seen_as_pop3() -> None:
    hops = analyze_captures({"bob-lan": PCAPS / "pop3_port25.pcapng"}, addressing("local"))
    result = evaluate(SCENARIO.checks[2], Evidence(SCENARIO, hops))
    assert not result.passed
    assert result.output == "hop receiver-ua -> receiver-mta: expected SMTP, observed POP3"
