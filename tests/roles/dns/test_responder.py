# The name server's answers, without sockets: dnspython builds each query and parses
# each response, so the wire format is checked by a second, independent codec.
from __future__ import annotations

import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import pytest

from labctl.model import addressing
from labctl.model.zone import ResourceRecord, Zone, lab_zone
from roles.dns.responder import Responder

RESPONDER = Responder(lab_zone(addressing("compose")))


def ask(name: str, rtype: str, **make: object) -> dns.message.Message:
    query = dns.message.make_query(name, rtype, **make)  # type: ignore[arg-type]
    wire, _ = RESPONDER.respond(query.to_wire(), over_udp=True)
    assert wire is not None
    response = dns.message.from_wire(wire)
    assert response.id == query.id and response.flags & dns.flags.QR
    assert not response.flags & dns.flags.RA, "an authoritative-only server offers no recursion"
    return response


def texts(response: dns.message.Message, section: str = "answer") -> list[str]:
    return [rdata.to_text() for rrset in getattr(response, section) for rdata in rrset]


@pytest.mark.parametrize(("name", "rtype", "expected"), [
    ("hamburger.edu", "MX", ["10 mail.hamburger.edu."]),
    ("crepes.fr", "MX", ["10 mail.crepes.fr."]),
    ("mail.hamburger.edu", "A", ["198.18.2.26"]),
    ("mail.crepes.fr", "A", ["198.18.2.25"]),
    ("crepes.fr", "TXT", ['"v=spf1 mx -all"']),
    ("hamburger.edu", "NS", ["ns.internet.test."]),
    ("mallory.internet.test", "A", ["198.18.2.66"]),
])
def test_lab_names_get_authoritative_answers(name: str, rtype: str, expected: list[str]) -> None:
    response = ask(name, rtype)
    assert response.rcode() == dns.rcode.NOERROR and response.flags & dns.flags.AA
    assert texts(response) == expected


def test_answer_keeps_the_case_of_the_question() -> None:
    response = ask("MAIL.Hamburger.EDU", "A")
    assert str(response.answer[0].name) == "MAIL.Hamburger.EDU."


def test_no_record_of_that_type_is_nodata_with_the_soa() -> None:
    response = ask("mail.crepes.fr", "MX")
    assert response.rcode() == dns.rcode.NOERROR and response.answer == []
    assert texts(response, "authority")[0].startswith("ns.internet.test. hostmaster.crepes.fr.")


def test_unknown_name_inside_a_lab_zone_is_nxdomain_with_the_soa() -> None:
    response = ask("alice-pc.crepes.fr", "A")
    assert response.rcode() == dns.rcode.NXDOMAIN and response.flags & dns.flags.AA
    assert len(response.authority) == 1


@pytest.mark.parametrize("name", ["gmail.com", "example.org", "edu", "."])
def test_names_outside_the_lab_are_refused(name: str) -> None:
    response = ask(name, "A")
    assert response.rcode() == dns.rcode.REFUSED
    assert not response.flags & dns.flags.AA and response.answer == [] == response.authority


def test_another_class_is_refused() -> None:
    query = dns.message.make_query("hamburger.edu", "MX", rdclass=dns.rdataclass.CH)
    wire, _ = RESPONDER.respond(query.to_wire(), over_udp=True)
    assert wire is not None and dns.message.from_wire(wire).rcode() == dns.rcode.REFUSED


def test_any_returns_every_record_of_the_name() -> None:
    response = ask("hamburger.edu", "ANY")
    types = sorted(dns.rdatatype.to_text(rrset.rdtype) for rrset in response.answer)
    assert types == ["MX", "NS", "SOA", "TXT"]


def test_edns_query_gets_an_opt_record_back() -> None:
    response = ask("hamburger.edu", "MX", use_edns=0, payload=1232)
    assert response.edns == 0 and texts(response) == ["10 mail.hamburger.edu."]


def test_other_opcodes_are_not_implemented() -> None:
    query = dns.message.make_query("hamburger.edu", "SOA")
    query.set_opcode(dns.opcode.NOTIFY)
    wire, outcome = RESPONDER.respond(query.to_wire(), over_udp=True)
    assert wire is not None and dns.message.from_wire(wire).rcode() == dns.rcode.NOTIMP
    assert outcome.rcode == "NOTIMP"


def test_header_with_a_broken_question_is_formerr_and_noise_is_dropped() -> None:
    query = dns.message.make_query("hamburger.edu", "MX").to_wire()
    wire, outcome = RESPONDER.respond(query[:15], over_udp=True)
    assert wire is not None and outcome.rcode == "FORMERR"
    response = dns.message.from_wire(wire, question_only=True)
    assert response.rcode() == dns.rcode.FORMERR and response.id == int.from_bytes(query[:2])
    for noise in (b"", b"\x00\x01", b"not dns"):
        wire, outcome = RESPONDER.respond(noise, over_udp=True)
        assert wire is None and outcome.rcode == "(dropped)"


def test_a_response_is_not_answered_even_a_broken_one() -> None:
    query = dns.message.make_query("hamburger.edu", "MX")
    query.flags |= dns.flags.QR
    assert RESPONDER.respond(query.to_wire(), over_udp=True)[0] is None
    assert RESPONDER.respond(query.to_wire()[:15], over_udp=True)[0] is None


def udp_and_tcp(zone: Zone, name: str, rtype: str) -> tuple[dns.message.Message, ...]:
    """The responses of `zone` to one query over UDP (at most 512 bytes) and over TCP."""
    query = dns.message.make_query(name, rtype).to_wire()
    udp, _ = Responder(zone).respond(query, over_udp=True)
    tcp, _ = Responder(zone).respond(query, over_udp=False)
    assert udp is not None and tcp is not None and len(udp) <= 512
    return dns.message.from_wire(udp), dns.message.from_wire(tcp)


def test_a_udp_answer_too_big_is_truncated_and_complete_over_tcp() -> None:
    big = Zone(("big.test",), (
        ResourceRecord("big.test", "SOA", "ns.big.test. hostmaster.big.test. 1 1 1 1 1"),
        *(ResourceRecord("big.test", "TXT", f'"{n:03} {"x" * 60}"') for n in range(20)),
    ))
    over_udp, over_tcp = udp_and_tcp(big, "big.test", "TXT")
    assert over_udp.flags & dns.flags.TC
    assert len(texts(over_tcp)) == 20


@pytest.mark.parametrize("edns", [False, True])
def test_an_mx_answer_brings_the_exchange_address_in_the_additional_section(edns: bool) -> None:
    response = ask("hamburger.edu", "MX", use_edns=0 if edns else False)
    assert texts(response) == ["10 mail.hamburger.edu."]
    assert [(rrset.name.to_text(), rdata.to_text()) for rrset in response.additional
            for rdata in rrset] == [("mail.hamburger.edu.", "198.18.2.26")]
    assert (response.edns >= 0) == edns


def test_additional_records_are_dropped_before_an_answer_is_truncated() -> None:
    exchanges = [f"mx{n:02}-{'x' * 30}.big.test" for n in range(8)]
    big = Zone(("big.test",), (
        ResourceRecord("big.test", "SOA", "ns.big.test. hostmaster.big.test. 1 1 1 1 1"),
        *(ResourceRecord("big.test", "MX", f"10 {name}.") for name in exchanges),
        *(ResourceRecord(name, "A", f"192.0.2.{n}") for n, name in enumerate(exchanges)),
    ))
    over_udp, over_tcp = udp_and_tcp(big, "big.test", "MX")
    assert not over_udp.flags & dns.flags.TC, "the answer fits once the additional data goes"
    assert len(texts(over_udp)) == 8 and over_udp.additional == []
    assert len(texts(over_tcp, "additional")) == 8
