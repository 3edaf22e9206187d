# Compose labs for the lab-level benchmarks (lab_benchmarks.py), when a Docker engine
# answers, and what they are compared with.
#
# A benchmark's compose lab is ComposeBackend's own (`labctl up` on the compose
# backend) for a lab instance that is never the default lab, its rendered compose file
# in the benchmark's scratch folder; it is always taken down. The baseline is the same
# lab as idle containers: one per long-running service of the lab's compose file, from
# the same role image, on the same four networks (same bridges, subnets and addresses;
# the controller on the host's network, as in the lab), each running `sleep infinity`
# with a trivial healthcheck (in the lab's timing), brought up by `docker compose up
# --wait`. The two never run at once (they share the networks).
# Memory is the engine's: each running container's memory usage (docker stats).
from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import yaml

from bench.local_labs import quiet
from bench.registry import Context
from labctl.backends.compose import ComposeBackend, engine_available
from labctl.backends.project import project_dir
from labctl.model import LabInstance
from labctl.model.compose_file import IMAGE, render_compose_file

NO_ENGINE = "no Docker engine"
IDLE_COMMAND = ["sleep", "infinity"]
TRIVIAL_CHECK = ["CMD", "true"]  # in the lab's healthcheck timing (interval, retries...)


def compose_unmeasured(context: Context) -> str | None:
    """Why the compose rows are not measured in this run; None when they are."""
    if not context.compose:
        return "compose rows not asked for (--no-compose)"
    return None if engine_available() else NO_ENGINE


def compose_backend(work: Path, instance: LabInstance) -> ComposeBackend:
    """The compose backend of `instance`, its rendered compose file under `work`."""
    return ComposeBackend(instance=instance, home=work / "labs")


@contextlib.contextmanager
def running_compose_lab(work: Path, instance: LabInstance) -> Iterator[ComposeBackend]:
    """`instance`'s compose lab, up, down afterwards (whatever happened)."""
    backend = compose_backend(work, instance)
    try:
        backend.up(quiet)
        yield backend
    finally:
        backend.down(quiet)


def idle_compose_file(instance: LabInstance) -> dict[str, Any]:
    """The lab's compose file with each long-running service an idle container."""
    lab = yaml.safe_load(render_compose_file(instance=instance, context=str(project_dir())))
    services = {
        name: {"image": IMAGE, "pull_policy": "never", "command": IDLE_COMMAND,
               "healthcheck": {**service["healthcheck"], "test": TRIVIAL_CHECK},
               **{key: service[key] for key in ("networks", "network_mode") if key in service}}
        for name, service in lab["services"].items() if "healthcheck" in service
    }
    return {"name": f"{instance.project_name}-idle", "services": services,
            "networks": lab["networks"]}


class IdleContainers:
    """The baseline: the lab's services as idle containers, through `docker compose`."""

    def __init__(self, work: Path, instance: LabInstance) -> None:
        self.spec = idle_compose_file(instance)
        self.file = work / "idle-compose.yaml"
        self.file.parent.mkdir(parents=True, exist_ok=True)
        self.file.write_text(yaml.safe_dump(self.spec, sort_keys=False))

    @property
    def project(self) -> str:
        return str(self.spec["name"])

    @property
    def count(self) -> int:
        return len(self.spec["services"])

    def _compose(self, *args: str) -> None:
        command = ["docker", "compose", "-f", str(self.file), "-p", self.project, *args]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            tail = " / ".join(result.stderr.strip().splitlines()[-5:])
            raise RuntimeError(f"docker compose {args[0]} of idle containers failed: {tail}")

    def up(self) -> None:
        """docker compose up --wait: return once every container is healthy."""
        self._compose("up", "--detach", "--wait", "--wait-timeout", "180")

    def down(self) -> None:
        """Remove the containers and the networks."""
        self._compose("down", "--volumes", "--remove-orphans", "--timeout", "0")


@contextlib.contextmanager
def running_idle_containers(work: Path, instance: LabInstance) -> Iterator[IdleContainers]:
    """The idle containers, up, removed afterwards."""
    idle = IdleContainers(work, instance)
    try:
        idle.up()
        yield idle
    finally:
        idle.down()


def project_memory_bytes(project: str) -> int:
    """The summed memory usage of compose project `project`'s running containers."""
    client = docker.from_env()
    try:
        containers = client.containers.list(
            filters={"label": f"com.docker.compose.project={project}"})
        return sum(int(container.stats(stream=False)["memory_stats"].get("usage", 0))
                   for container in containers)
    finally:
        client.close()
