# Check types about which hops carried what: the protocol on a hop, a hop that must or
# must not exist (a path around the sender's server), who opened the connections (push
# or pull), and a DNS question answered before a hop's first connection (the MX lookup;
# a recording relay records only the relayed TCP streams, so its captures hold no DNS
# and that check fails). Read from the conversations the analyzer grouped into hops.
from __future__ import annotations

from typing import Any, Literal

from pydantic import field_validator, model_validator

from labctl.analysis import Conversation
from labctl.analysis.dialog import DnsQuery
from labctl.model import HTTP, IMAP, POP3, SMTP
from labctl.scenarios.checks.base import (
    CheckSpec,
    Evidence,
    Verdict,
    check_type,
    hop_verdict,
    protocols_of,
)
from labctl.scenarios.fields import canonical_hop, lab_role, role_pair

WireProtocol = Literal["SMTP", "POP3", "IMAP", "HTTP"]
WIRE_PROTOCOLS = (SMTP, POP3, IMAP, HTTP)


def upper_value(value: Any) -> Any:
    """Upper-case a string (protocol names are case-insensitive in scenario files)."""
    return value.upper() if isinstance(value, str) else value


def seen_hops(evidence: Evidence) -> str:
    """What the capture holds, hop by hop, for a failure that found nothing where asked."""
    shown = [f"{h.client_role or '?'} -> {h.server_role or '?'} {'/'.join(h.protocols)}"
             for h in evidence.hops if h.conversations]
    return "; ".join(shown) or "no conversation at all"


def endpoints(conversation: Conversation) -> str:
    """A connection in words: client address:port -> server address:port."""
    return f"{conversation.client} -> {conversation.server}"


class HopProtocolCheck(CheckSpec):
    """Every conversation on the hop speaks `expect` (identified from the bytes, not the
    port), and there is at least one. Fails naming the protocols observed."""

    type: Literal["hop_protocol"]
    hop: str
    expect: WireProtocol

    _hop = field_validator("hop")(canonical_hop)
    _expect = field_validator("expect", mode="before")(upper_value)


@check_type(HopProtocolCheck)
def grade_hop_protocol(check: HopProtocolCheck, evidence: Evidence) -> Verdict:
    """Every conversation on the hop speaks the expected protocol (and there is one)."""
    observed = protocols_of(evidence.conversations(check.hop))
    return hop_verdict(observed == [check.expect], check.hop, check.expect,
                       f"{check.expect} as expected" if observed == [check.expect]
                       else ", ".join(observed) or "nothing")


class _PathCheck(CheckSpec):
    hop: str  # any two lab roles: a link, or a path that bypasses one
    protocol: WireProtocol | None = None  # None: any traffic at all

    _hop = field_validator("hop")(role_pair)
    _protocol = field_validator("protocol", mode="before")(upper_value)

    def what(self) -> str:
        return f"{self.protocol} conversation" if self.protocol else "connection"


class HopExistsCheck(_PathCheck):
    """The capture holds at least one conversation on `hop` (any two lab roles), in
    `protocol` when given. Fails naming the hops the capture does hold."""

    type: Literal["hop_exists"]


@check_type(HopExistsCheck)
def grade_hop_exists(check: HopExistsCheck, evidence: Evidence) -> Verdict:
    """At least one conversation (of the protocol) on the hop."""
    found = evidence.speaking(check.hop, check.protocol)
    if found:
        return hop_verdict(True, check.hop, "", f"{len(found)} {check.what()}(s) observed")
    return hop_verdict(False, check.hop, f"a {check.what()}",
                       f"none (the capture holds: {seen_hops(evidence)})")


class HopAbsentCheck(_PathCheck):
    """No conversation on `hop` (in `protocol` when given; without it, not even a
    connection attempt), e.g. sender-ua -> receiver-mta: a path around the sender's server.
    Fails when nothing at all was captured, or a capture file could be read only in part,
    since then nothing shows the hop was unused."""

    type: Literal["hop_absent"]


@check_type(HopAbsentCheck)
def grade_hop_absent(check: HopAbsentCheck, evidence: Evidence) -> Verdict:
    """No conversation (of the protocol) on the hop, in a capture that holds something."""
    if check.protocol:
        found = evidence.speaking(check.hop, check.protocol)
    else:
        found = evidence.connections(check.hop)
    if found:
        shown = ", ".join(f"{c.protocol} {endpoints(c)}" for c in found[:3])
        return hop_verdict(False, check.hop, f"no {check.what()}",
                           f"{len(found)}: {shown}")
    if not any(h.conversations for h in evidence.hops):
        return hop_verdict(False, check.hop, f"no {check.what()} in a capture of the run",
                           "an empty capture, which cannot show it")
    damaged = sorted({h.pcap for h in evidence.hops if h.incomplete})
    if damaged:
        return hop_verdict(False, check.hop, f"no {check.what()} in a whole capture",
                           f"none, but only part of {', '.join(damaged)} could be read")
    return hop_verdict(True, check.hop, "", f"no {check.what()}, as expected")


class WhoOpenedCheck(CheckSpec):
    """Every TCP connection between the two roles of `hop` (either direction) was opened
    (SYN sent) by `opener`: pull (the user agent opens) versus push. Connections whose
    SYN the capture does not hold cannot be credited."""

    type: Literal["who_opened"]
    hop: str
    opener: str
    protocol: WireProtocol | None = None

    _hop = field_validator("hop")(role_pair)
    _opener = field_validator("opener")(lab_role)
    _protocol = field_validator("protocol", mode="before")(upper_value)

    @model_validator(mode="after")
    def _opener_on_the_hop(self) -> WhoOpenedCheck:
        if self.opener not in self.hop.split(" -> "):
            raise ValueError(f"opener {self.opener} is not one of the roles of {self.hop}")
        return self


@check_type(WhoOpenedCheck)
def grade_who_opened(check: WhoOpenedCheck, evidence: Evidence) -> Verdict:
    """Every connection between the two roles was opened by `opener`, as seen by its SYN."""
    client, _, server = check.hop.partition(" -> ")
    both = evidence.connections(check.hop) + evidence.connections(f"{server} -> {client}")
    found = [c for c in both if c.transport == "tcp"
             and (check.protocol is None or c.protocol == check.protocol)]
    expected = f"every connection opened by {check.opener}"
    if not found:
        return hop_verdict(False, check.hop, expected, "no connection between the two roles")
    unseen = [c for c in found if not c.phases.seen_from_start]
    wrong = [c for c in found if c.phases.seen_from_start and c.client_role != check.opener]
    if wrong:
        shown = ", ".join(f"{c.client_role} opened {c.protocol} {endpoints(c)}" for c in wrong[:3])
        return hop_verdict(False, check.hop, expected, shown)
    if unseen:
        return hop_verdict(False, check.hop, expected,
                           f"{len(unseen)} connection(s) whose SYN is not in the capture")
    return hop_verdict(True, check.hop, "", f"all {len(found)} connection(s) opened by "
                       f"{check.opener}")


class DnsLookupCheck(CheckSpec):
    """`role` asked the DNS for the `qtype` records of `domain` (default: the MX of
    hamburger.edu) and got a NOERROR answer with records, before it opened its first
    connection on hop `before` when given. Fails naming the queries seen."""

    type: Literal["dns_lookup"]
    role: str = "sender-mta"
    domain: str = "hamburger.edu"
    qtype: str = "MX"
    before: str | None = "sender-mta -> receiver-mta"

    _role = field_validator("role")(lab_role)
    _qtype = field_validator("qtype", mode="before")(upper_value)
    @field_validator("before")
    @classmethod
    def _hop(cls, value: str | None) -> str | None:
        return None if value is None else canonical_hop(value)

    @field_validator("domain")
    @classmethod
    def _domain(cls, value: str) -> str:
        return value.lower().rstrip(".")


def _queries(evidence: Evidence, role: str) -> list[tuple[float, DnsQuery]]:
    """(capture time, query) of every DNS question `role` asked, in capture order."""
    found = [(c.start, q) for h in evidence.hops if h.client_role == role
             for c in h.conversations if c.dialog is not None for q in c.dialog.dns]
    return sorted(found, key=lambda item: item[0])


@check_type(DnsLookupCheck)
def grade_dns_lookup(check: DnsLookupCheck, evidence: Evidence) -> Verdict:
    """The answered question is in the capture, before the first connection on `before`."""
    asked = f"{check.qtype} {check.domain}"
    where = f"{check.role} asks the DNS"
    queries = _queries(evidence, check.role)
    if not queries:
        return Verdict(False, f"{where}: expected {asked} answered, observed no DNS question "
                              f"(the capture holds: {seen_hops(evidence)})")
    answered = [(at, q) for at, q in queries
                if q.name.lower().rstrip(".") == check.domain and q.qtype == check.qtype
                and q.rcode == "NOERROR" and q.answers]
    shown = ", ".join(f"{q.qtype} {q.name} {q.rcode or 'unanswered'}" for _, q in queries[:4])
    if not answered:
        return Verdict(False, f"{where}: expected {asked} answered, observed {shown}")
    at, query = answered[0]
    if check.before is None:
        return Verdict(True, f"{where}: {asked} answered {', '.join(query.answers)}")
    opened = [c.start for c in evidence.connections(check.before) if c.transport == "tcp"]
    if not opened:
        return Verdict(False, f"{where}: expected {asked} answered before a connection on "
                              f"{check.before}, observed no connection there")
    if at > min(opened):
        return Verdict(False, f"{where}: expected {asked} answered before the first "
                              f"connection on {check.before}, observed it {at - min(opened):.3f}"
                              " s after")
    return Verdict(True, f"{where}: {asked} answered {', '.join(query.answers)} before its "
                         f"first connection on {check.before}")
