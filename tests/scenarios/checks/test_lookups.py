# dns_lookup on captures the analyzer read: the relay's MX question answered before it
# connects passes; no question, a question answered NXDOMAIN, or one asked only after
# the connection fails, naming what was asked.
from __future__ import annotations

from pathlib import Path

import dns.message
import dns.rcode
import dns.rrset

from tests.scenarios.checks.wire_builders import Lookup, Wire, capture, compose, grader, smtp

MX = "  - {name: mx, points: 1, type: dns_lookup}\n"
RELAY = Wire("sender-mta", "receiver-mta", smtp(compose()))


def lookup(rcode: dns.rcode.Rcode = dns.rcode.NOERROR, name: str = "hamburger.edu") -> Lookup:
    question = dns.message.make_query(name, "MX")
    answer = dns.message.make_response(question)
    answer.set_rcode(rcode)
    if rcode == dns.rcode.NOERROR:
        answer.answer.append(dns.rrset.from_text(name + ".", 300, "IN", "MX",
                                                 "10 mail.hamburger.edu."))
    return Lookup("sender-mta", "dns", [(True, question.to_wire()), (False, answer.to_wire())])


def test_the_mx_answered_before_the_relay_connects_passes(tmp_path: Path) -> None:
    result = grader(MX).grade(capture(tmp_path, lookup(), RELAY))
    assert result.passed, result.output
    assert result.output == ("sender-mta asks the DNS: MX hamburger.edu answered 10 "
                             "mail.hamburger.edu. before its first connection on sender-mta -> "
                             "receiver-mta")


def test_a_lookup_after_the_connection_fails(tmp_path: Path) -> None:
    result = grader(MX).grade(capture(tmp_path, RELAY, lookup()))
    assert not result.passed
    assert result.output.startswith(
        "sender-mta asks the DNS: expected MX hamburger.edu answered before the first "
        "connection on sender-mta -> receiver-mta, observed it 10.")


def test_no_answer_or_no_question_fails(tmp_path: Path) -> None:
    failed = grader(MX).grade(capture(tmp_path, lookup(dns.rcode.NXDOMAIN), RELAY))
    assert not failed.passed
    assert failed.output == ("sender-mta asks the DNS: expected MX hamburger.edu answered, "
                             "observed MX hamburger.edu NXDOMAIN")
    other = grader(MX).grade(capture(tmp_path, lookup(name="crepes.fr"), RELAY))
    assert not other.passed and other.output.endswith("observed MX crepes.fr NOERROR")
    silent = grader(MX).grade(capture(tmp_path, RELAY))
    assert not silent.passed
    assert silent.output.startswith("sender-mta asks the DNS: expected MX hamburger.edu "
                                    "answered, observed no DNS question (the capture holds: ")
