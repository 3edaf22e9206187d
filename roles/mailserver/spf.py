# SPF (RFC 7208): may this client address send mail for this domain? Evaluated against
# the lab's DNS only (lab_dns.py), never a resolver outside the lab.
#
# check_host() reads the domain's "v=spf1" TXT record and tries its terms from left to
# right; the first mechanism that matches gives the result through its qualifier
# (+ pass, - fail, ~ softfail, ? neutral); none matching gives neutral, or the policy
# of a redirect= modifier. Mechanisms: all, ip4, ip6, a, mx (with a domain and /cidr),
# include, exists (no macros). Limits of RFC 7208 4.6.4: at most 10 terms that query
# DNS and 2 lookups that find nothing. Results and where they come from:
#   none       no SPF record (NXDOMAIN, no TXT, or a name outside the lab: REFUSED)
#   temperror  the lab's DNS did not answer, or answered SERVFAIL
#   permerror  two SPF records, an unknown mechanism, a macro, a limit exceeded
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from roles.mailserver.lab_dns import DnsAnswer, DnsUnavailable, LabDns

QUALIFIERS = {"+": "pass", "-": "fail", "~": "softfail", "?": "neutral"}
MAX_DNS_TERMS = 10
MAX_VOID_LOOKUPS = 2
_MECHANISM = re.compile(r"(?P<name>[a-z0-9]+)(?::(?P<domain>[^/]+))?(?:/(?P<cidr>\d+))?$")
_DOMAIN = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,63}$")


@dataclass(frozen=True)
class SpfResult:
    """The result of check_host() and why: the term that matched, or what went wrong."""

    result: str  # pass | fail | softfail | neutral | none | temperror | permerror
    domain: str
    reason: str


class _Stop(Exception):
    """Ends an evaluation with temperror or permerror."""

    def __init__(self, result: str, reason: str) -> None:
        super().__init__(reason)
        self.result, self.reason = result, reason


async def check_host(resolver: LabDns, ip: str, domain: str) -> SpfResult:
    """The SPF result for mail from `domain` sent by the client at `ip`."""
    domain = domain.lower().rstrip(".")
    if not _DOMAIN.match(domain):
        return SpfResult("none", domain, f"{domain!r} is not a domain name SPF can check")
    evaluation = _Evaluation(resolver, ipaddress.ip_address(ip))
    try:
        return await evaluation.check(domain)
    except _Stop as stop:
        return SpfResult(stop.result, domain, stop.reason)


class _Evaluation:
    def __init__(self, resolver: LabDns, ip: ipaddress.IPv4Address | ipaddress.IPv6Address):
        self.resolver, self.ip = resolver, ip
        self.dns_terms = self.void_lookups = 0

    async def check(self, domain: str) -> SpfResult:
        record = await self._record(domain)
        if record is None:
            return SpfResult("none", domain, f"{domain} publishes no SPF record")
        redirect = None
        for term in record.split()[1:]:
            if "%" in term:
                raise _Stop("permerror", f"{domain}: macros are not supported ({term})")
            name, _, value = term.partition("=")
            if value and re.fullmatch(r"[a-z][a-z0-9_.-]*", name.lower()):
                redirect = value if name.lower() == "redirect" else redirect
                continue  # exp= and unknown modifiers are ignored (RFC 7208 6)
            qualifier = term[0] if term[0] in QUALIFIERS else "+"
            if await self._matches(term.lstrip("+-~?").lower(), domain):
                return SpfResult(QUALIFIERS[qualifier], domain, f"{domain}: matched {term}")
        if redirect is not None:
            self._count_dns_term(domain)
            result = await self.check(redirect.lower())
            if result.result == "none":
                raise _Stop("permerror", f"{domain}: redirect to {redirect}, which has no SPF")
            return result
        return SpfResult("neutral", domain, f"{domain}: no mechanism matched")

    async def _record(self, domain: str) -> str | None:
        answer = await self._query(domain, "TXT", count_void=False)
        records = [r for r in answer.records if re.match(r"v=spf1( |$)", r, re.IGNORECASE)]
        if len(records) > 1:
            raise _Stop("permerror", f"{domain} publishes {len(records)} SPF records")
        return records[0] if records else None

    async def _matches(self, mechanism: str, domain: str) -> bool:
        if mechanism == "all":
            return True
        if mechanism.startswith(("ip4:", "ip6:")):
            try:
                return self.ip in ipaddress.ip_network(mechanism[4:], strict=False)
            except ValueError:
                raise _Stop("permerror", f"{domain}: bad network in {mechanism}") from None
        parts = _MECHANISM.match(mechanism)
        if parts is None or parts["name"] not in ("a", "mx", "include", "exists"):
            raise _Stop("permerror", f"{domain}: unknown mechanism {mechanism!r}")
        name, target = parts["name"], (parts["domain"] or domain).rstrip(".")
        self._count_dns_term(domain)
        if name == "include":
            return await self._include(target, domain)
        if name == "exists":
            return bool((await self._query(target, "A")).records)
        hosts = [target]
        if name == "mx":
            hosts = [r.split()[1] for r in (await self._query(target, "MX")).records][:10]
        prefix = int(parts["cidr"] or 32)
        for host in hosts:
            for address in (await self._query(host, "A")).records:
                network = ipaddress.ip_network(f"{address}/{min(prefix, 32)}", strict=False)
                if self.ip in network:
                    return True
        return False

    async def _include(self, target: str, domain: str) -> bool:
        result = await self.check(target)
        if result.result in ("temperror", "permerror"):
            raise _Stop(result.result, result.reason)
        if result.result == "none":
            raise _Stop("permerror", f"{domain}: include:{target}, which has no SPF record")
        return result.result == "pass"

    def _count_dns_term(self, domain: str) -> None:
        self.dns_terms += 1
        if self.dns_terms > MAX_DNS_TERMS:
            raise _Stop("permerror", f"{domain}: more than {MAX_DNS_TERMS} DNS lookups")

    async def _query(self, name: str, rdtype: str, count_void: bool = True) -> DnsAnswer:
        try:
            answer = await self.resolver.query(name, rdtype)
        except DnsUnavailable as exc:
            raise _Stop("temperror", str(exc)) from None
        if answer.rcode not in ("NOERROR", "NXDOMAIN", "REFUSED"):
            raise _Stop("temperror", f"the lab's DNS answered {answer.rcode} for {name} {rdtype}")
        if count_void and not answer.records:
            self.void_lookups += 1
            if self.void_lookups > MAX_VOID_LOOKUPS:
                raise _Stop("permerror", f"more than {MAX_VOID_LOOKUPS} lookups found nothing")
        return answer
