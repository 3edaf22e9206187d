# The lab model: roles, networks, links (hops) and users, as plain frozen data.
#
# This is the one source of truth of maillab's topology. compose.yaml, the local
# runtime's processes and the capture plan are all derived from LAB (see
# addressing.py for where each role sits in each runtime, compose_file.py for the
# compose rendering). Nothing here does I/O.
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args

# Protocol names used across the model, the analyzer and the reports.
SMTP = "SMTP"
POP3 = "POP3"
IMAP = "IMAP"
HTTP = "HTTP"
DNS = "DNS"
TLS = "TLS"  # a conversation that is TLS from its first byte (implicit TLS)
UNKNOWN = "unknown"
CONTROL = "control"  # the service of a role's control agent (management network only)
# How a user agent fetches its mail (the agents' FetchRequest.protocol, `labctl fetch`)
FetchProtocol = Literal["pop3", "imap", "http"]
FETCH_PROTOCOLS: tuple[FetchProtocol, ...] = get_args(FetchProtocol)


@dataclass(frozen=True)
class Network:
    """A lab network: one Linux bridge in compose, one 127.x.y.0/24 range locally."""

    name: str
    bridge: str  # the compose bridge's interface name (at most 15 characters)
    octet: int  # third octet of the network's /24 in every runtime
    captured: bool = True  # False only for the management network


@dataclass(frozen=True)
class Service:
    """A service a role offers (TCP; dns also UDP): its standard port and its local one."""

    name: str
    port: int
    local_port: int


@dataclass(frozen=True)
class Role:
    """One container (compose) or one process group (local) of the lab."""

    name: str
    program: str  # "mailserver" | "useragent" | "dns" | "mallory"
    hostname: str
    host_octet: int  # last octet of the role's address on each of its networks
    networks: tuple[str, ...]
    services: tuple[Service, ...] = ()
    domain: str | None = None  # the mail domain a mail server is responsible for
    user: str | None = None  # the mail address a user agent acts for
    server: str | None = None  # the mail server role a user agent talks to

    def lab_services(self) -> tuple[Service, ...]:
        """The services the role offers on its lab networks: all but its control agent."""
        return tuple(s for s in self.services if s.name != CONTROL)

    def service(self, name: str) -> Service:
        """Return the service called `name`; KeyError names the role when absent."""
        for service in self.services:
            if service.name == name:
                return service
        raise KeyError(f"role {self.name} offers no service {name!r}")


@dataclass(frozen=True)
class Link:
    """A hop: which role opens TCP connections to which, on which network, speaking what."""

    client: str
    server: str
    network: str
    protocols: frozenset[str]  # the protocols that are right on this hop

    @property
    def name(self) -> str:
        return f"{self.client} -> {self.server}"


@dataclass(frozen=True)
class User:
    address: str
    password: str

    @property
    def local_part(self) -> str:
        return self.address.split("@", 1)[0]

    @property
    def domain(self) -> str:
        return self.address.split("@", 1)[1]


@dataclass(frozen=True)
class Lab:
    name: str
    networks: tuple[Network, ...]
    roles: tuple[Role, ...]
    links: tuple[Link, ...]
    users: tuple[User, ...] = field(default=())

    def role(self, name: str) -> Role:
        for role in self.roles:
            if role.name == name:
                return role
        raise KeyError(f"no role {name!r} in lab {self.name} (roles: {self.role_names()})")

    def network(self, name: str) -> Network:
        for network in self.networks:
            if network.name == name:
                return network
        raise KeyError(f"no network {name!r} in lab {self.name}")

    def role_names(self) -> list[str]:
        return [role.name for role in self.roles]

    def captured_networks(self) -> tuple[Network, ...]:
        return tuple(n for n in self.networks if n.captured)

    def roles_on(self, network: str) -> tuple[Role, ...]:
        """The roles attached to `network`, in model order."""
        return tuple(r for r in self.roles if network in r.networks)

    def mail_servers(self) -> tuple[Role, ...]:
        return tuple(r for r in self.roles if r.program == "mailserver")

    def mail_server_for(self, domain: str) -> Role | None:
        """The lab's own record of which server is the MX of `domain` (None: not a lab domain)."""
        for role in self.mail_servers():
            if role.domain == domain.lower():
                return role
        return None

    def users_of(self, domain: str) -> tuple[User, ...]:
        return tuple(u for u in self.users if u.domain == domain.lower())

    def user(self, address: str) -> User:
        for user in self.users:
            if user.address == address.lower():
                return user
        raise KeyError(f"no user {address!r} in lab {self.name}")

    def link_between(self, client: str, server: str) -> Link | None:
        for link in self.links:
            if link.client == client and link.server == server:
                return link
        return None


MGMT = "mgmt"
INTERNET = "internet"  # the network between the domains: mail servers, dns, mallory

MAIL_SERVICES = (
    Service("smtp", 25, 2525),
    Service("submission", 587, 5587),
    Service("pop3", 110, 1110),
    Service("imap", 143, 1143),
    Service("webmail", 80, 8080),  # HTTP: the JSON API and the HTML pages
    Service("control", 8000, 8000),
)
UA_SERVICES = (Service("control", 8000, 8000),)
DNS_SERVICES = (Service("dns", 53, 5053), Service("control", 8000, 8000))

LAB = Lab(
    name="maillab",
    networks=(
        Network("alice-lan", "ml-alice", 1),
        Network("internet", "ml-inet", 2),
        Network("bob-lan", "ml-bob", 3),
        Network(MGMT, "ml-mgmt", 0, captured=False),
    ),
    roles=(
        Role(
            "sender-ua", "useragent", "alice-pc.crepes.fr", 10, ("alice-lan", MGMT),
            UA_SERVICES, user="alice@crepes.fr", server="sender-mta",
        ),
        Role(
            "sender-mta", "mailserver", "mail.crepes.fr", 25, ("alice-lan", "internet", MGMT),
            MAIL_SERVICES, domain="crepes.fr",
        ),
        Role(
            "receiver-mta", "mailserver", "mail.hamburger.edu", 26, ("internet", "bob-lan", MGMT),
            MAIL_SERVICES, domain="hamburger.edu",
        ),
        Role(
            "receiver-ua", "useragent", "bob-pc.hamburger.edu", 20, ("bob-lan", MGMT),
            UA_SERVICES, user="bob@hamburger.edu", server="receiver-mta",
        ),
        # The lab's name server: authoritative for the lab's names only (see zone.py).
        Role("dns", "dns", "ns.internet.test", 53, (INTERNET, MGMT), DNS_SERVICES),
        # A host outside both domains with the tools people use by hand (the spoofing exercise).
        Role("mallory", "mallory", "mallory.internet.test", 66, (INTERNET, MGMT), UA_SERVICES),
    ),
    links=(
        Link("sender-ua", "sender-mta", "alice-lan", frozenset({SMTP, HTTP})),
        Link("sender-mta", "receiver-mta", "internet", frozenset({SMTP})),
        Link("receiver-ua", "receiver-mta", "bob-lan", frozenset({POP3, IMAP, HTTP})),
    ),
    users=(
        User("alice@crepes.fr", "alice-pw"),
        User("bob@hamburger.edu", "bob-pw"),
    ),
)
