# The lab's DNS zone, derived from the lab model and a runtime's addressing plan.
#
# This is the one source of every name the lab's name server (roles/dns) answers and
# `labctl dns` prints: for each mail domain an SOA, an NS, an MX naming its mail
# server and a TXT record with the domain's SPF policy; an A record for every host on
# the internet network at its internet-side address (LAN-only hosts are not published:
# they cannot be reached from the internet). The hosts outside both mail domains
# (the name server itself, mallory) live in a zone of their own. Nothing here does I/O.
from __future__ import annotations

from dataclasses import dataclass

from labctl.model.addressing import Addressing
from labctl.model.topology import INTERNET, Role

TTL = 300
MX_PREFERENCE = 10
# The SPF policy of every lab domain: only the hosts named by the domain's MX may send
# its mail; anything else fails (-all). SPF receivers in the lab check against it.
SPF_POLICY = "v=spf1 mx -all"


@dataclass(frozen=True)
class ResourceRecord:
    """One record: owner name (lower case, no final dot), type, RDATA in zone-file form."""

    name: str
    rtype: str
    data: str
    ttl: int = TTL

    def zone_line(self) -> str:
        """The record as one line of a zone file."""
        return f"{self.name}.\t{self.ttl}\tIN\t{self.rtype}\t{self.data}"


@dataclass(frozen=True)
class Zone:
    """The lab's names: the zones (origins) it is authoritative for, and their records."""

    origins: tuple[str, ...]
    records: tuple[ResourceRecord, ...]

    def origin_of(self, name: str) -> str | None:
        """The zone `name` falls in (None: not a lab name, the server refuses it)."""
        name = normalize(name)
        inside = [o for o in self.origins if name == o or name.endswith("." + o)]
        return max(inside, key=len) if inside else None

    def exists(self, name: str) -> bool:
        """True when `name` owns at least one record."""
        name = normalize(name)
        return any(r.name == name for r in self.records)

    def lookup(self, name: str, rtype: str) -> tuple[ResourceRecord, ...]:
        """The records of `name` of type `rtype` ("ANY": all of them)."""
        name = normalize(name)
        return tuple(r for r in self.records
                     if r.name == name and (rtype == "ANY" or r.rtype == rtype))

    def soa(self, origin: str) -> ResourceRecord:
        """The SOA record of zone `origin`."""
        return self.lookup(origin, "SOA")[0]

    def text(self) -> str:
        """The whole zone as zone-file text, one block per origin."""
        blocks = []
        for origin in self.origins:
            lines = [f"; zone {origin}"]
            lines += [r.zone_line() for r in self.records if self.origin_of(r.name) == origin]
            blocks.append("\n".join(lines))
        return "\n\n".join(blocks) + "\n"


def normalize(name: str) -> str:
    """A DNS name compared the lab's way: lower case, without the final dot."""
    return name.lower().rstrip(".")


def name_server(plan: Addressing) -> Role:
    """The lab's name server role."""
    for role in plan.lab.roles:
        if role.program == "dns":
            return role
    raise KeyError(f"lab {plan.lab.name} has no dns role")


def resolver_address(plan: Addressing) -> tuple[str, int]:
    """Where the lab's name server answers on the internet network: (address, port)."""
    server = name_server(plan)
    return plan.address(server, INTERNET), plan.port(server, "dns")


def _parent(hostname: str) -> str:
    return hostname.split(".", 1)[1]


def lab_zone(plan: Addressing) -> Zone:
    """The lab's zone in the runtime of `plan`."""
    lab, ns = plan.lab, name_server(plan).hostname
    hosts = lab.roles_on(INTERNET)
    domains = [s.domain for s in lab.mail_servers() if s.domain]
    origins = list(dict.fromkeys([*domains, *(_parent(h.hostname) for h in hosts)]))
    records: list[ResourceRecord] = []
    for origin in origins:
        records.append(ResourceRecord(
            origin, "SOA", f"{ns}. hostmaster.{origin}. 1 3600 600 86400 {TTL}"))
        records.append(ResourceRecord(origin, "NS", f"{ns}."))
        server = lab.mail_server_for(origin)
        if server is not None:
            records.append(ResourceRecord(origin, "MX", f"{MX_PREFERENCE} {server.hostname}."))
            records.append(ResourceRecord(origin, "TXT", f'"{SPF_POLICY}"'))
        for host in hosts:
            if _parent(host.hostname) == origin:
                records.append(ResourceRecord(host.hostname, "A", plan.address(host, INTERNET)))
    return Zone(tuple(origins), tuple(records))
