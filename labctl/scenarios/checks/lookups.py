# The dns_lookup check type: a server asked the lab's DNS (the MX of the recipient's
# domain, say) and had an answer before it opened its first connection on a hop, read
# from the DNS exchanges the analyzer found in the capture (a recording relay records
# only the relayed TCP streams: its captures hold no DNS, and the check then fails).
from __future__ import annotations

from typing import Literal

from pydantic import field_validator

from labctl.analysis.dialog import DnsQuery
from labctl.scenarios.checks.base import CheckSpec, Verdict, check_type
from labctl.scenarios.checks.evidence import Evidence
from labctl.scenarios.checks.hops import seen_hops, upper_value
from labctl.scenarios.fields import canonical_hop, lab_role


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
