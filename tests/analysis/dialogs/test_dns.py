# The DNS observer on hand-written conversations (UDP datagrams, length-prefixed TCP
# messages split anywhere, unanswered and unmatched messages, bytes that are no DNS,
# random input) and on real traffic: dnspython asking the lab's own name server over UDP
# and TCP, captured with tcpdump, compared with tshark's DNS dissector.
from __future__ import annotations

import struct
from pathlib import Path

import dns.asyncquery
import dns.message
import dns.rcode
import dns.rrset
import pytest
from hypothesis import given, settings

from labctl.analysis.dialog import COMMAND, REPLY, UNREADABLE, DnsQuery
from labctl.analysis.dialogs.dns import observe
from labctl.analysis.results import Segment
from labctl.model.zone import lab_zone
from roles.dns.responder import Responder
from roles.dns.server import DnsServer
from tests.analysis.dialogs.loopback import (
    capturing,
    tcp_conversations,
    tshark_fields,
    udp_datagrams,
)
from tests.analysis.dialogs.scripts import Script, mangled, segments
from tests.conftest import TEST_PLAN
from tests.roles.conftest import DNS_HOST


def query(name: str, qtype: str, query_id: int) -> dns.message.Message:
    message = dns.message.make_query(name, qtype)
    message.id = query_id
    return message


def response(question: dns.message.Message, *records: str,
             rcode: dns.rcode.Rcode = dns.rcode.NOERROR) -> bytes:
    message = dns.message.make_response(question)
    for record in records:
        message.answer.append(dns.rrset.from_text(question.question[0].name, 300, "IN",
                                                  question.question[0].rdtype, record))
    message.set_rcode(rcode)
    return message.to_wire()


MX, A = query("hamburger.edu", "MX", 7), query("nope.hamburger.edu", "A", 8)
UDP: Script = [(True, MX.to_wire()), (True, A.to_wire()),
               (False, response(MX, "10 mail.hamburger.edu.")),
               (False, response(A, rcode=dns.rcode.NXDOMAIN))]


def prefixed(message: bytes) -> bytes:
    return struct.pack(">H", len(message)) + message


TCP: Script = [(from_client, prefixed(data)) for from_client, data in UDP]


def test_udp_questions_and_answers_matched_by_id() -> None:
    dialog = observe(segments(UDP), "udp")
    assert dialog.labels() == ["MX hamburger.edu", "A nope.hamburger.edu", "NOERROR", "NXDOMAIN"]
    assert [step.answers for step in dialog.steps] == [None, None, 0, 1]
    assert dialog.steps[2].text == "10 mail.hamburger.edu." and dialog.steps[3].code == "NXDOMAIN"
    assert dialog.dns == [DnsQuery("hamburger.edu", "MX", "NOERROR", ("10 mail.hamburger.edu.",)),
                          DnsQuery("nope.hamburger.edu", "A", "NXDOMAIN", ())]
    assert dialog.problems == []


@pytest.mark.parametrize("split", [0, 1, 5])
def test_tcp_messages_split_anywhere(split: int) -> None:
    dialog = observe(segments(TCP, split), "tcp")
    udp = observe(segments(UDP), "udp")
    assert (dialog.labels(), dialog.dns, dialog.problems) == (udp.labels(), udp.dns, [])


def test_bytes_that_are_no_dns_and_what_is_missing() -> None:
    dialog = observe(segments([(True, MX.to_wire()), (False, b"\x00\x07junk"),
                               (False, response(A))]), "udp")
    assert [s.kind for s in dialog.steps] == [COMMAND, UNREADABLE, REPLY]
    assert dialog.dns == [DnsQuery("hamburger.edu", "MX", None, ()),
                          DnsQuery("nope.hamburger.edu", "A", "NOERROR", ())]
    assert dialog.problems == [
        "server byte 0 at 1.000000: not a DNS message: The DNS packet passed to from_wire()"
        " is too short.",
        "server byte 6 at 2.000000: response id 8 (A nope.hamburger.edu) answers no query seen",
        "no response to query id 7 (MX hamburger.edu)"]
    cut = observe(segments([(True, prefixed(MX.to_wire())[:9])]), "tcp")
    assert cut.problems == [f"client byte 0 at 0.000000: the capture ends inside a message: 7 of"
                            f" {len(MX.to_wire())} octets"]


@settings(max_examples=300, deadline=None)
@given(mangled(TCP))
def test_random_tcp_input_never_raises(conversation: list[Segment]) -> None:
    dialog = observe(conversation, "tcp")
    assert all(step.answers is None or dialog.steps[step.answers].kind == COMMAND
               for step in dialog.steps)


@settings(max_examples=300, deadline=None)
@given(mangled(UDP))
def test_random_udp_input_never_raises(conversation: list[Segment]) -> None:
    observe(conversation, "udp")


# -- real traffic: dnspython asking the lab's name server, tshark as the oracle
ASKED = [("hamburger.edu", "MX"), ("mail.hamburger.edu", "A"), ("crepes.fr", "TXT"),
         ("nothere.hamburger.edu", "A")]


async def test_dnspython_over_udp_and_tcp_read_as_tshark_reads_them(tmp_path: Path) -> None:
    server = DnsServer(Responder(lab_zone(TEST_PLAN)), DNS_HOST, 0)
    await server.start()
    pcap = tmp_path / "dns.pcap"
    try:
        with capturing(pcap, DNS_HOST, server.port):
            for name, qtype in ASKED:
                answer = await dns.asyncquery.udp(dns.message.make_query(name, qtype),
                                                  DNS_HOST, port=server.port, timeout=10)
                tcp_answer = await dns.asyncquery.tcp(dns.message.make_query(name, qtype),
                                                      DNS_HOST, port=server.port, timeout=10)
                assert answer.rcode() == tcp_answer.rcode()
    finally:
        await server.stop()
    over_udp = observe(udp_datagrams(pcap, server.port), "udp")
    over_tcp = [observe(conversation, "tcp") for conversation in tcp_conversations(pcap,
                                                                                   server.port)]
    assert over_udp.problems == [] and [d.problems for d in over_tcp] == [[]] * len(ASKED)
    assert [(q.name, q.qtype) for q in over_udp.dns] == ASKED
    assert [q for d in over_tcp for q in d.dns] == over_udp.dns
    assert [q.rcode for q in over_udp.dns] == ["NOERROR"] * 3 + ["NXDOMAIN"]
    assert over_udp.dns[0].answers
    assert all(answer.endswith(" mail.hamburger.edu.") for answer in over_udp.dns[0].answers)
    for transport in ("udp", "tcp"):
        rows = tshark_fields(pcap, f"{transport}.port=={server.port},dns", "dns.qry.name",
                             "dns.flags.response", "dns.flags.rcode", where=transport)
        questions = [row[0] for row in rows if row[1] == "0"]
        rcodes = [int(row[2]) for row in rows if row[1] == "1"]
        dialogs = [over_udp] if transport == "udp" else over_tcp
        assert questions == [q.name for d in dialogs for q in d.dns]
        assert rcodes == [dns.rcode.from_text(q.rcode or "") for d in dialogs for q in d.dns]


def test_additional_records_are_kept_with_the_answer() -> None:
    answer = dns.message.from_wire(response(MX, "10 mail.hamburger.edu."))
    answer.additional.append(dns.rrset.from_text("mail.hamburger.edu.", 300, "IN", "A",
                                                 "198.18.2.26"))
    dialog = observe(segments([(True, MX.to_wire()), (False, answer.to_wire())]), "udp")
    assert dialog.dns == [DnsQuery("hamburger.edu", "MX", "NOERROR", ("10 mail.hamburger.edu.",),
                                   ("mail.hamburger.edu. A 198.18.2.26",))]
    assert dialog.steps[1].text == ("10 mail.hamburger.edu.\n"
                                    "additional: mail.hamburger.edu. A 198.18.2.26")
