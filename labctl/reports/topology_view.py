# What the HTML page draws as the topology: the roles (or addresses) and the links
# between them, each with the networks it was seen on and the protocols seen on it.
#
# The roles and networks come from one of three sources, in this order of preference:
# the lab model (a scenario run, or `analyze --runtime`), a roles file (`--roles`), or
# the hops themselves (any capture: hosts named by address). Links the lab declares but
# no traffic used are kept (drawn as "no traffic"); traffic on a path the lab does not
# declare (a bypass) is a link too.
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from labctl.model.topology import Lab
from labctl.reports.conversation import ConversationReport
from labctl.reports.model import HopReport
from labctl.reports.roles_file import RolesFile


@dataclass
class LinkView:
    """One client -> server link and what was seen on it."""

    client: str
    server: str
    networks: list[str] = field(default_factory=list)
    protocols: list[str] = field(default_factory=list)  # empty: no traffic seen
    declared: bool = False  # the lab model (or roles file) knows this link


@dataclass
class TopologyView:
    """The hosts in drawing order, the networks each sits on, and the links."""

    hosts: list[str] = field(default_factory=list)
    networks: dict[str, list[str]] = field(default_factory=dict)  # network -> hosts
    links: list[LinkView] = field(default_factory=list)

    def add_host(self, host: str) -> None:
        """Add a host (once)."""
        if host not in self.hosts:
            self.hosts.append(host)

    def link(self, client: str, server: str) -> LinkView:
        """The link client -> server, added when new."""
        for link in self.links:
            if (link.client, link.server) == (client, server):
                return link
        self.add_host(client)
        self.add_host(server)
        self.links.append(LinkView(client, server))
        return self.links[-1]


def conversation_ends(hop: HopReport, conversation: ConversationReport) -> tuple[str, str]:
    """(client, server) of a conversation: the hop's roles, else the addresses."""
    return (hop.client_role or conversation.client.rpartition(":")[0],
            hop.server_role or conversation.server.rpartition(":")[0])


def build_topology(hops: Iterable[HopReport], lab: Lab | None = None,
                   roles: RolesFile | None = None) -> TopologyView:
    """The topology to draw: the lab's (or roles file's) hosts and links, plus the hops'."""
    view = TopologyView()
    if lab is not None:
        for role in lab.roles:
            lab_networks = [n for n in role.networks if lab.network(n).captured]
            if lab_networks:
                view.add_host(role.name)
            for network in lab_networks:
                view.networks.setdefault(network, []).append(role.name)
        for declared in lab.links:
            link = view.link(declared.client, declared.server)
            link.declared = True
            link.networks.append(declared.network)
    elif roles is not None:
        for name in roles.roles:
            view.add_host(name)
        view.networks = {n: list(members) for n, members in roles.networks.items()}
    for hop in hops:
        for conversation in hop.conversations:
            client, server = conversation_ends(hop, conversation)
            link = view.link(client, server)
            _add(link.networks, hop.network)
            _add(link.protocols, conversation.protocol)
            for host in (client, server):
                _add(view.networks.setdefault(hop.network, []), host)
    return view


def _add(items: list[str], item: str) -> None:
    if item not in items:
        items.append(item)
