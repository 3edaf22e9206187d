# compose.yaml, rendered from the lab model. The committed compose.yaml is this
# function's output (`labctl compose-file > compose.yaml`; a test keeps them equal),
# so roles, addresses and networks have one source of truth.
from __future__ import annotations

from typing import Any

import yaml

from labctl.agent_auth import DIGEST_FILE_ENV, DIGEST_FILE_NAME, TOKEN_FILE_ENV, TOKEN_FILE_NAME
from labctl.model.addressing import Addressing, addressing
from labctl.model.instance import DEFAULT_INSTANCE, INSTANCE_ENV, LabInstance, Runtime
from labctl.model.options import LabOptions
from labctl.model.topology import INTERNET, LAB, Lab, Role
from labctl.model.zone import resolver_address

IMAGE = "maillab-role:latest"
DEFAULT_BASE_IMAGE = "python:3.11-slim-bookworm"
HEADER = """\
# maillab: one container per role on internal (sealed) networks, one bridge per link.
# Rendered from the lab model (labctl/model/topology.py) by `labctl compose-file`;
# edit the model, not this file. Bring it up with `labctl up` (or `docker compose up`).
# The lab CA (STARTTLS): docker compose cp receiver-mta:/run/maillab/tls/ca.pem .
"""
SECRET_SERVICE = "lab-secret"  # one-shot: makes the token only the controller can read
TOKEN_DIR, DIGEST_DIR = "/run/maillab/controller", "/run/maillab/agent"
TOKEN_VOLUME, DIGEST_VOLUME = "controller-secret", "agent-digest"
# One-shot: the lab CA (its key stays in TLS_CA_VOLUME, mounted nowhere else) and each
# mail server's certificate, key and ca.pem in a volume of its own, mounted read-only.
TLS_SERVICE = "lab-tls"
TLS_CA_DIR, TLS_DIR = "/run/maillab/tls-ca", "/run/maillab/tls"
TLS_CA_VOLUME = "tls-ca"


def _build(context: str) -> dict[str, Any]:
    return {
        "context": context,
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
        "environment": {
            INSTANCE_ENV: plan.instance.name,
            DIGEST_FILE_ENV: f"{DIGEST_DIR}/{DIGEST_FILE_NAME}",
        },
        "healthcheck": {
            "test": ["CMD", "python", "-m", "roles.healthcheck", "--role", role.name],
            "interval": "2s",
            "timeout": "3s",
            "retries": 30,
            "start_period": "30s",
        },
        "volumes": [f"{DIGEST_VOLUME}:{DIGEST_DIR}:ro"],
        "depends_on": _completed(SECRET_SERVICE),
        # no raw sockets in a role: it can neither sniff nor forge (ARP) the management
        # network, where the controller's token travels
        "cap_drop": ["NET_RAW"],
    }
    if INTERNET in role.networks:  # names on the internet resolve through the lab's DNS
        service["dns"] = [resolver_address(plan)[0]]
    hosts = lab_hosts(role, plan)
    if hosts:
        service["extra_hosts"] = hosts
    if role.program == "mailserver":
        # The lab options (SPF checking, ...) as set where `labctl up` runs, else the defaults.
        service["environment"].update({
            name: f"${{{name}:-{value}}}" for name, value in LabOptions().to_env().items()
        })
        service["command"] = [*command, "--data", "/var/lib/maillab", "--tls-dir", TLS_DIR]
        service["volumes"] += [f"{role.name}-data:/var/lib/maillab",
                               f"{_tls_volume(role)}:{TLS_DIR}:ro"]
        service["depends_on"] |= _completed(TLS_SERVICE)
    return service


def _completed(service: str) -> dict[str, dict[str, str]]:
    return {service: {"condition": "service_completed_successfully"}}


def _tls_volume(role: Role) -> str:
    return f"{role.name}-tls"


def lab_hosts(role: Role, plan: Addressing) -> list[str]:
    """/etc/hosts lines naming the roles this one shares a lab network with, at that address.

    So that `telnet mail.hamburger.edu 25` in a container reaches the lab's server,
    never a host of that name outside the lab. A role on the internet network finds the
    hosts published in the lab's DNS there; only LAN-only neighbours are listed.
    """
    published = plan.lab.roles_on(INTERNET) if INTERNET in role.networks else ()
    return [f"{other.hostname}:{address}" for other, address in plan.neighbours(role)
            if other not in published]


def _secret_service() -> dict[str, Any]:
    """The one-shot service writing the lab token (controller's volume) and its digest."""
    return {
        "image": IMAGE,
        "pull_policy": "never",
        "network_mode": "none",
        "command": ["python", "-m", "labctl.agent_auth",
                    "--token-dir", TOKEN_DIR, "--digest-dir", DIGEST_DIR],
        "volumes": [f"{TOKEN_VOLUME}:{TOKEN_DIR}", f"{DIGEST_VOLUME}:{DIGEST_DIR}"],
    }


def _tls_service(plan: Addressing) -> dict[str, Any]:
    """The one-shot service making the lab CA and handing each mail server its files."""
    servers = plan.lab.mail_servers()
    return {
        "image": IMAGE,
        "pull_policy": "never",
        "network_mode": "none",
        "command": ["python", "-m", "labctl.tls_ca", "--ca-dir", TLS_CA_DIR,
                    "--servers-dir", TLS_DIR],
        "environment": {INSTANCE_ENV: plan.instance.name},
        "volumes": [f"{TLS_CA_VOLUME}:{TLS_CA_DIR}",
                    *(f"{_tls_volume(r)}:{TLS_DIR}/{r.name}" for r in servers)],
    }


def _controller_service(plan: Addressing, context: str) -> dict[str, Any]:
    return {
        "image": IMAGE,
        "build": _build(context),
        # Host networking: the controller reaches the agents on the management bridge and
        # records every lab bridge from outside the role containers (CAP_NET_RAW only).
        "network_mode": "host",
        "cap_add": ["NET_RAW"],
        "command": ["python", "-m", "labctl.controller"],
        "environment": {
            "MAILLAB_RUNTIME": "compose",
            INSTANCE_ENV: plan.instance.name,
            "MAILLAB_PORT": str(plan.controller_port),
            TOKEN_FILE_ENV: f"{TOKEN_DIR}/{TOKEN_FILE_NAME}",
            "MAILLAB_CAPTURE_MODE": "tcpdump",
            "MAILLAB_CAPTURE_LIMIT_MB": "${MAILLAB_CAPTURE_LIMIT_MB:-100}",
            "MAILLAB_CAPTURES_DIR": "/captures",
            "MAILLAB_CAPTURES_PUBLIC_DIR": "${MAILLAB_CAPTURES_DIR:-./captures}",
        },
        "volumes": [
            "${MAILLAB_CAPTURES_DIR:-./captures}:/captures", f"{TOKEN_VOLUME}:{TOKEN_DIR}:ro",
        ],
        "depends_on": {role.name: {"condition": "service_healthy"} for role in plan.lab.roles},
        "healthcheck": {
            "test": ["CMD", "python", "-m", "roles.healthcheck", "--controller"],
            "interval": "2s",
            "timeout": "3s",
            "retries": 30,
        },
    }


def _network(plan: Addressing, name: str) -> dict[str, Any]:
    """An internal bridge; a captured (lab) bridge gets no host address at all, so no
    container can open a connection to the host through it (capture needs no address)."""
    network = plan.lab.network(name)
    options = {"com.docker.network.bridge.name": plan.bridge(network)}
    if network.captured:
        options["com.docker.network.bridge.inhibit_ipv4"] = "true"
    return {
        "internal": True,
        "driver": "bridge",
        "driver_opts": options,
        "ipam": {"config": [{"subnet": plan.subnet(network), "gateway": plan.gateway(network)}]},
    }


def compose_document(
    lab: Lab = LAB, instance: LabInstance = DEFAULT_INSTANCE, context: str = "."
) -> dict[str, Any]:
    """The compose file of `lab` for `instance` as a plain dict (`context`: the project)."""
    plan = addressing(Runtime.COMPOSE, lab, instance)
    services = {SECRET_SERVICE: _secret_service(), TLS_SERVICE: _tls_service(plan)}
    services.update({role.name: _role_service(role, plan) for role in lab.roles})
    services["controller"] = _controller_service(plan, context)
    networks = {network.name: _network(plan, network.name) for network in lab.networks}
    volumes: dict[str, dict[str, str]] = {f"{r.name}-data": {} for r in lab.mail_servers()}
    volumes |= {_tls_volume(r): {} for r in lab.mail_servers()}
    volumes |= {TOKEN_VOLUME: {}, DIGEST_VOLUME: {}, TLS_CA_VOLUME: {}}
    return {"name": instance.project_name, "services": services, "networks": networks,
            "volumes": volumes}


def render_compose_file(
    lab: Lab = LAB, instance: LabInstance = DEFAULT_INSTANCE, context: str = "."
) -> str:
    """compose.yaml's text for `lab` and `instance` (the committed file: the defaults)."""
    document = compose_document(lab, instance, context)
    body = yaml.safe_dump(document, sort_keys=False, default_flow_style=False)
    return HEADER + body
