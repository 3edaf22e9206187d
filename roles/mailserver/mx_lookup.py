# Where the relay sends mail for a domain: the domain's MX in the lab's DNS, then the
# address (A) of the MX host, as any mail server on the Internet finds its peer. The
# lab's name server sends that address with the MX answer (additional section), as
# authoritative servers do; the A query is made only when it did not.
#
# The lookups ask the lab's name server only (lab_dns.py). The address must be a lab
# mail server on a network this server is on; the connection leaves from our own
# address on that network, so per-link captures see the right hosts. Outcomes:
#   MX hosts by preference, the first with an A record   -> Route
#   NXDOMAIN, REFUSED (not a lab name), no MX, null MX,
#   no MX host with an address, an address that is no lab
#   mail server we can reach                               -> RouteError(permanent=True)
#   the name server does not answer, or answers SERVFAIL   -> RouteError(permanent=False)
from __future__ import annotations

import logging
from dataclasses import dataclass

from roles.mailserver.lab_dns import DnsAnswer, DnsUnavailable, LabDns
from roles.mailserver.settings import MailServerSettings

log = logging.getLogger("mailserver")
DEFINITE = ("NOERROR", "NXDOMAIN", "REFUSED")  # rcodes that are a final answer


@dataclass(frozen=True)
class Route:
    """Where mail for one domain goes: a lab role, its MX name, its address/port, our source."""

    role: str
    hostname: str
    host: str
    port: int
    source: str

    @property
    def where(self) -> str:
        return f"{self.role} ({self.host}:{self.port})"


class RouteError(Exception):
    """Mail for a domain cannot go anywhere now: for good (bounce) or for now (retry)."""

    def __init__(self, message: str, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


async def lookup_route(settings: MailServerSettings, domain: str) -> Route:
    """The route to `domain`'s mail server found in the lab's DNS; RouteError otherwise."""
    resolver = LabDns.for_server(settings)
    answer = await _ask(resolver, domain, "MX")
    if answer.rcode == "REFUSED":
        raise RouteError(f"domain {domain} is not a lab domain: the lab's DNS refused the "
                         "MX query (it answers for lab names only)", permanent=True)
    if answer.rcode == "NXDOMAIN":
        raise RouteError(f"domain {domain} does not exist in the lab's DNS (NXDOMAIN)",
                         permanent=True)
    exchanges = sorted((int(p), host) for p, host in (r.split() for r in answer.records))
    if not exchanges:
        raise RouteError(f"domain {domain} has no MX record in the lab's DNS", permanent=True)
    if [host for _, host in exchanges] == ["."]:
        raise RouteError(f"domain {domain} accepts no mail (null MX)", permanent=True)
    for _, exchange in exchanges:
        addresses = answer.addresses.get(exchange.lower()) \
            or (await _ask(resolver, exchange, "A")).records
        if addresses:
            route = _route_to(settings, domain, exchange, addresses[0])
            log.info("mx domain=%s exchange=%s role=%s route=%s:%d", domain, exchange,
                     route.role, route.host, route.port)
            return route
    names = ", ".join(host for _, host in exchanges)
    raise RouteError(f"the MX host(s) of {domain} ({names}) have no address in the lab's DNS",
                     permanent=True)


async def _ask(resolver: LabDns, name: str, rdtype: str) -> DnsAnswer:
    try:
        answer = await resolver.query(name, rdtype)
    except DnsUnavailable as exc:
        raise RouteError(str(exc), permanent=False) from None
    if answer.rcode not in DEFINITE:
        raise RouteError(f"the lab's DNS at {resolver.where} answered {answer.rcode} for "
                         f"{name} {rdtype}", permanent=False)
    return answer


def _route_to(settings: MailServerSettings, domain: str, exchange: str, address: str) -> Route:
    plan = settings.addressing
    found = plan.role_at(address)
    where = f"MX host {exchange} of {domain} at {address}"
    if found is None:
        raise RouteError(f"{where} is not a lab host", permanent=True)
    role_name, network = found
    role = plan.lab.role(role_name)
    if role.program != "mailserver":
        raise RouteError(f"{where} is {role_name}, not a lab mail server", permanent=True)
    if network not in settings.lab_role.networks:
        raise RouteError(f"{where} is on {network}, a network {settings.role} is not on",
                         permanent=True)
    port = settings.peer_smtp_ports.get(role_name) or plan.port(role, "smtp")
    return Route(role_name, exchange.rstrip("."), address, port,
                 plan.address(settings.role, network))
