# compose.yaml, rendered from the lab model. The committed compose.yaml is this
# function's output (`labctl compose-file > compose.yaml`; a test keeps them equal),
# so roles, addresses and networks have one source of truth.
from __future__ import annotations

from typing import Any

import yaml

from labctl.model.addressing import CONTROLLER_PORTS, Addressing, Runtime, addressing
from labctl.model.options import LabOptions
from labctl.model.topology import INTERNET, LAB, MGMT, Lab, Role
from labctl.model.zone import resolver_address

IMAGE = "maillab-role:latest"
DEFAULT_BASE_IMAGE = "python:3.11-slim-bookworm"
HEADER = """\
# maillab: one container per role on internal (sealed) networks, one bridge per link.
# Rendered from the lab model (labctl/model/topology.py) by `labctl compose-file`;
# edit the model, not this file. Bring it up with `labctl up` (or `docker compose up`).
"""


def _build() -> dict[str, Any]:
    return {
        "context": ".",
        "dockerfile": "roles/Dockerfile",
        "args": {"BASE_IMAGE": f"${{MAILLAB_BASE_IMAGE:-{DEFAULT_BASE_IMAGE}}}"},
    }


def _role_service(role: Role, plan: Addressing) -> dict[str, Any]:
    program = f"roles.{role.program}"
    command = ["python", "-m", program, "--role", role.name, "--runtime", "compose"]
    service: dict[str, Any] = {
        "image": IMAGE,  # built once, by the controller service
        "pull_policy": "never",
        "hostname": role.hostname,
        "command": command,
        "networks": {
            network: {"ipv4_address": plan.address(role, network)} for network in role.networks
        },
        "healthcheck": {
            "test": ["CMD", "python", "-m", "roles.healthcheck", "--role", role.name],
            "interval": "2s",
            "timeout": "3s",
            "retries": 30,
            "start_period": "30s",
        },
    }
    if INTERNET in role.networks:  # names on the internet resolve through the lab's DNS
        service["dns"] = [resolver_address(plan)[0]]
    hosts = lab_hosts(role, plan)
    if hosts:
        service["extra_hosts"] = hosts
    if role.program == "mailserver":
        # The lab options (SPF checking, ...) as set where `labctl up` runs, else the defaults.
        service["environment"] = {
            name: f"${{{name}:-{value}}}" for name, value in LabOptions().to_env().items()
        }
        service["command"] = [*command, "--data", "/var/lib/maillab"]
        service["volumes"] = [f"{role.name}-data:/var/lib/maillab"]
    return service


def lab_hosts(role: Role, plan: Addressing) -> list[str]:
    """/etc/hosts lines naming the roles this one shares a lab network with, at that address.

    So that `telnet mail.hamburger.edu 25` in a container reaches the lab's server,
    never a host of that name outside the lab. A role on the internet network finds the
    hosts published in the lab's DNS there; only LAN-only neighbours are listed.
    """
    published = plan.lab.roles_on(INTERNET) if INTERNET in role.networks else ()
    hosts = []
    for other in plan.lab.roles:
        if other.name == role.name or other in published:
            continue
        shared = [n for n in role.networks if n != MGMT and n in other.networks]
        if shared:
            hosts.append(f"{other.hostname}:{plan.address(other, shared[0])}")
    return hosts


def _controller_service(lab: Lab) -> dict[str, Any]:
    return {
        "image": IMAGE,
        "build": _build(),
        # Host networking: the controller reaches the agents on the management bridge and
        # records every lab bridge from outside the role containers (CAP_NET_RAW only).
        "network_mode": "host",
        "cap_add": ["NET_RAW"],
        "command": ["python", "-m", "labctl.controller"],
        "environment": {
            "MAILLAB_RUNTIME": "compose",
            "MAILLAB_PORT": str(CONTROLLER_PORTS[Runtime.COMPOSE]),
            "MAILLAB_CAPTURE_MODE": "tcpdump",
            "MAILLAB_CAPTURES_DIR": "/captures",
            "MAILLAB_CAPTURES_PUBLIC_DIR": "${MAILLAB_CAPTURES_DIR:-./captures}",
        },
        "volumes": ["${MAILLAB_CAPTURES_DIR:-./captures}:/captures"],
        "depends_on": {role.name: {"condition": "service_healthy"} for role in lab.roles},
        "healthcheck": {
            "test": ["CMD", "python", "-m", "roles.healthcheck", "--controller"],
            "interval": "2s",
            "timeout": "3s",
            "retries": 30,
        },
    }


def compose_document(lab: Lab = LAB) -> dict[str, Any]:
    """The compose file of `lab` as a plain dict."""
    plan = addressing(Runtime.COMPOSE, lab)
    services = {role.name: _role_service(role, plan) for role in lab.roles}
    services["controller"] = _controller_service(lab)
    networks = {
        network.name: {
            "internal": True,
            "driver": "bridge",
            "driver_opts": {"com.docker.network.bridge.name": network.bridge},
            "ipam": {
                "config": [{"subnet": plan.subnet(network), "gateway": plan.gateway(network.name)}]
            },
        }
        for network in lab.networks
    }
    volumes: dict[str, dict[str, str]] = {f"{r.name}-data": {} for r in lab.mail_servers()}
    return {"name": lab.name, "services": services, "networks": networks, "volumes": volumes}


def render_compose_file(lab: Lab = LAB) -> str:
    """compose.yaml's text for `lab`."""
    body = yaml.safe_dump(compose_document(lab), sort_keys=False, default_flow_style=False)
    return HEADER + body
