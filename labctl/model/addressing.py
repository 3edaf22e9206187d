# Where every role sits in each runtime: addresses, ports and URLs, derived from LAB.
#
# compose puts network N at 10.77.N.0/24 (a Linux bridge each); local puts it at
# 127.77.N.0/24 on loopback, so that a per-network filter on `lo` captures one link
# just as a bridge does. A role's address on a network ends in its host_octet in both.
# Local ports are unprivileged (2525 for 25, ...), so no root is needed.
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from labctl.model.topology import LAB, MGMT, Lab, Network, Role


class Runtime(StrEnum):
    COMPOSE = "compose"
    LOCAL = "local"


CONTROL_PORT = 8000
RELAY_PORT_OFFSET = 10000  # a relayed service listens this much higher, behind its relay
CONTROLLER_PORTS = {Runtime.COMPOSE: 8025, Runtime.LOCAL: 8026}


@dataclass(frozen=True)
class Addressing:
    """Addresses and ports of LAB's roles in one runtime."""

    runtime: Runtime
    prefix: str
    lab: Lab = LAB

    def subnet(self, network: str | Network) -> str:
        net = self.lab.network(network) if isinstance(network, str) else network
        return f"{self.prefix}.{net.octet}.0/24"

    def gateway(self, network: str) -> str:
        return f"{self.prefix}.{self.lab.network(network).octet}.1"

    def address(self, role: str | Role, network: str) -> str:
        """The role's address on `network`; KeyError when the role is not attached to it."""
        r = self.lab.role(role) if isinstance(role, str) else role
        if network not in r.networks:
            raise KeyError(f"role {r.name} is not on network {network}")
        return f"{self.prefix}.{self.lab.network(network).octet}.{r.host_octet}"

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
        for role in self.lab.roles:
            for network in role.networks:
                if self.address(role, network) == address:
                    return role.name, network
        return None

    def network_of(self, address: str) -> str | None:
        for network in self.lab.networks:
            if address.startswith(f"{self.prefix}.{network.octet}."):
                return network.name
        return None

    def shared_network(self, client: str, server: str) -> str:
        """The lab network (not management) both roles are attached to."""
        a, b = self.lab.role(client), self.lab.role(server)
        for network in a.networks:
            if network != MGMT and network in b.networks:
                return network
        raise KeyError(f"roles {client} and {server} share no lab network")

    def controller_url(self) -> str:
        return f"http://127.0.0.1:{CONTROLLER_PORTS[self.runtime]}"


def addressing(runtime: Runtime | str, lab: Lab = LAB) -> Addressing:
    """The addressing plan of `lab` in `runtime`."""
    rt = Runtime(runtime)
    return Addressing(rt, "10.77" if rt is Runtime.COMPOSE else "127.77", lab)
