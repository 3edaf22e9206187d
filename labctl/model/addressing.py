# Where every role sits in each runtime: addresses, ports and URLs, derived from LAB
# and the lab instance (see instance.py: the default instance is described here).
#
# compose puts network N at 198.18.N.0/24 (a Linux bridge each); local puts it at
# 127.77.N.0/24 on loopback, so that a per-network filter on `lo` captures one link
# just as a bridge does. A role's address on a network ends in its host_octet in both.
# Local ports are unprivileged (2525 for 25, ...), so no root is needed.
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from labctl.model.instance import DEFAULT_INSTANCE, LabInstance
from labctl.model.instance import Runtime as Runtime  # re-exported: its home used to be here
from labctl.model.topology import LAB, MGMT, Lab, Network, Role

CONTROL_PORT = 8000
RELAY_PORT_OFFSET = 10000  # a relayed service listens this much higher, behind its relay
NETWORK_BASE = {Runtime.COMPOSE: (198, 18), Runtime.LOCAL: (127, 77)}  # first two octets


@dataclass(frozen=True)
class Addressing:
    """Addresses and ports of LAB's roles in one runtime, for one lab instance."""

    runtime: Runtime
    lab: Lab = LAB
    instance: LabInstance = DEFAULT_INSTANCE

    def _network_prefix(self, network: str | Network) -> str:
        net = self.lab.network(network) if isinstance(network, str) else network
        second_offset, third = self.instance.net_octets(net.octet)
        first, second = NETWORK_BASE[self.runtime]
        return f"{first}.{second + second_offset}.{third}"

    def subnet(self, network: str | Network) -> str:
        return f"{self._network_prefix(network)}.0/24"

    def gateway(self, network: str | Network) -> str:
        return f"{self._network_prefix(network)}.1"

    def bridge(self, network: str | Network) -> str:
        """The compose bridge's interface name (at most 15 characters)."""
        net = self.lab.network(network) if isinstance(network, str) else network
        return self.instance.bridge(net.bridge)

    def address(self, role: str | Role, network: str) -> str:
        """The role's address on `network`; KeyError when the role is not attached to it."""
        r = self.lab.role(role) if isinstance(role, str) else role
        if network not in r.networks:
            raise KeyError(f"role {r.name} is not on network {network}")
        return f"{self._network_prefix(network)}.{r.host_octet}"

    def port(self, role: str | Role, service: str) -> int:
        r = self.lab.role(role) if isinstance(role, str) else role
        svc = r.service(service)
        return svc.port if self.runtime is Runtime.COMPOSE else svc.local_port

    def hidden_port(self, role: str | Role, service: str) -> int:
        """Where a service listens when a recording relay fronts its usual port (local only)."""
        return self.port(role, service) + RELAY_PORT_OFFSET

    def control_url(self, role: str) -> str:
        return f"http://{self.address(role, MGMT)}:{self.port(role, 'control')}"

    def role_at(self, address: str) -> tuple[str, str] | None:
        """(role, network) owning `address`, or None when no lab role has it."""
        return self._owners.get(address)

    @cached_property
    def _owners(self) -> dict[str, tuple[str, str]]:
        """Every role address of the plan -> (role, network); the first role listed wins."""
        owners: dict[str, tuple[str, str]] = {}
        for role in self.lab.roles:
            for network in role.networks:
                owners.setdefault(self.address(role, network), (role.name, network))
        return owners

    def network_of(self, address: str) -> str | None:
        for network in self.lab.networks:
            if address.startswith(f"{self._network_prefix(network)}."):
                return network.name
        return None

    def shared_network(self, client: str, server: str) -> str:
        """The lab network (not management) both roles are attached to."""
        a, b = self.lab.role(client), self.lab.role(server)
        for network in a.networks:
            if network != MGMT and network in b.networks:
                return network
        raise KeyError(f"roles {client} and {server} share no lab network")

    def neighbours(self, role: str | Role) -> list[tuple[Role, str]]:
        """The roles `role` shares a lab network with, each at its address on that network."""
        r = self.lab.role(role) if isinstance(role, str) else role
        found = []
        for other in self.lab.roles:
            shared = [n for n in r.networks if n != MGMT and n in other.networks]
            if other.name != r.name and shared:
                found.append((other, self.address(other, shared[0])))
        return found

    def lab_addresses(self, role: str | Role) -> list[str]:
        """The role's addresses on its lab networks (never the management one)."""
        r = self.lab.role(role) if isinstance(role, str) else role
        return [self.address(r, network) for network in r.networks if network != MGMT]

    @property
    def controller_port(self) -> int:
        return self.instance.controller_port(self.runtime)

    def controller_url(self) -> str:
        return f"http://127.0.0.1:{self.controller_port}"


def addressing(
    runtime: Runtime | str, lab: Lab = LAB, instance: LabInstance = DEFAULT_INSTANCE
) -> Addressing:
    """The addressing plan of `lab` in `runtime` for `instance` (default: the default lab)."""
    return Addressing(Runtime(runtime), lab, instance)
