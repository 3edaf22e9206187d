# Lab instances: several labs side by side on one machine, each with its own name.
#
# Everything that could collide between two labs follows from the instance's name:
# the compose project, the bridges, the subnets (compose and local), the controller's
# port and the local state folder. The default instance, "maillab", is the lab as the
# README describes it (198.18.N.0/24, 127.77.N.x, bridges ml-*, ports 8025/8026).
# Compose subnets come from 198.18.0.0/15, which RFC 2544 reserves for benchmarking
# networks: no real network (a campus's 10/8 above all) uses it, so a lab never hides
# one. Any other name hashes to a slot 1..127; slot S moves the lab to
#     second octet base + S // 64,  third octet (S % 64) * 4 + network octet
# (base 18 for compose, 77 for local), so that each slot owns four /24s no other slot
# uses, and its controller to port 20000 + 2 S (compose) or 20000 + 2 S + 1 (local),
# below the kernel's ephemeral range. Two names can hash to one slot: `labctl up`
# refuses to start a lab whose slot a running lab of another name holds (registry.py).
# Role programs and the controller learn their instance from MAILLAB_INSTANCE.
from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from enum import StrEnum

DEFAULT_INSTANCE_NAME = "maillab"
INSTANCE_ENV = "MAILLAB_INSTANCE"
SLOTS = 128  # slot 0 is the default instance; compose's /15 holds 128 slots of four /24s
NETWORKS_PER_SLOT = 4  # a network's octet in the model must be below this
SLOTS_PER_SECOND_OCTET = 256 // NETWORKS_PER_SLOT
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


class Runtime(StrEnum):
    COMPOSE = "compose"
    LOCAL = "local"


DEFAULT_CONTROLLER_PORTS = {Runtime.COMPOSE: 8025, Runtime.LOCAL: 8026}
INSTANCE_PORT_BASE = 20000


class InstanceError(ValueError):
    """An instance name that cannot name a lab; the message says why."""


@dataclass(frozen=True)
class LabInstance:
    """One lab among several on this machine: a name and the slot it hashes to."""

    name: str = DEFAULT_INSTANCE_NAME
    slot: int = 0

    @classmethod
    def named(cls, name: str) -> LabInstance:
        """The instance called `name`; InstanceError when the name is not allowed."""
        if not _NAME.match(name):
            raise InstanceError(
                f"instance name {name!r}: use 1-40 lowercase letters, digits or '-', "
                "starting with a letter or digit"
            )
        if name == DEFAULT_INSTANCE_NAME:
            return cls()
        digest = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big")
        return cls(name, 1 + digest % (SLOTS - 1))

    @property
    def is_default(self) -> bool:
        return self.slot == 0

    @property
    def project_name(self) -> str:
        """The compose project (containers, networks and volumes are named after it)."""
        return self.name

    def net_octets(self, network_octet: int) -> tuple[int, int]:
        """(second-octet offset from the runtime's base, third octet) of the /24 of the
        model's network `network_octet`."""
        if not 0 <= network_octet < NETWORKS_PER_SLOT:
            raise InstanceError(f"network octet {network_octet} is not below {NETWORKS_PER_SLOT}")
        return (self.slot // SLOTS_PER_SECOND_OCTET,
                (self.slot % SLOTS_PER_SECOND_OCTET) * NETWORKS_PER_SLOT + network_octet)

    def bridge(self, default_bridge: str) -> str:
        """The Linux bridge of a network whose default-instance bridge is `default_bridge`."""
        if self.is_default:
            return default_bridge
        return f"ml{self.slot}-{default_bridge.removeprefix('ml-')}"[:15]

    def controller_port(self, runtime: Runtime) -> int:
        if self.is_default:
            return DEFAULT_CONTROLLER_PORTS[runtime]
        return INSTANCE_PORT_BASE + 2 * self.slot + (runtime is Runtime.LOCAL)

    @property
    def state_folder(self) -> str:
        """The local runtime's folder (processes, mail data, logs) under .maillab/."""
        return "local" if self.is_default else f"local-{self.name}"


DEFAULT_INSTANCE = LabInstance()


def current_instance(environ: dict[str, str] | None = None) -> LabInstance:
    """The instance MAILLAB_INSTANCE names (the default one when unset)."""
    source = os.environ if environ is None else environ
    return LabInstance.named(source.get(INSTANCE_ENV) or DEFAULT_INSTANCE_NAME)
