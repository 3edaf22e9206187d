# The compose runtime: one container per role plus the controller, from compose.yaml.
# Compose itself is driven through its CLI; the engine (health, logs, states)
# through the Docker SDK for Python. The default instance runs the committed
# compose.yaml; any other instance a rendering of its own (its project, bridges and
# subnets) written to the state folder, built from the same project folder.
from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import docker
import docker.errors

from labctl.backends.base import LabBackend, LabError, Progress
from labctl.backends.host_firewall import seal_host, unseal_host
from labctl.backends.images import LOCAL_BASE_IMAGE, choose_base_image, fill_wheelhouse
from labctl.backends.project import captures_dir, project_dir, state_dir
from labctl.backends.role_shell import ShellCommand, compose_shell
from labctl.model import DEFAULT_INSTANCE, LAB, LabInstance, Runtime, addressing
from labctl.model.compose_file import render_compose_file


def engine_available(timeout: float = 3.0) -> bool:
    """True when a Docker engine answers."""
    try:
        client = docker.from_env(timeout=int(timeout))
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (docker.errors.DockerException, OSError):
        return False


class ComposeBackend(LabBackend):
    runtime = Runtime.COMPOSE

    def __init__(
        self, project: Path | None = None, instance: LabInstance = DEFAULT_INSTANCE,
        home: Path | None = None,
    ) -> None:
        self.project = project or project_dir()
        self.instance = instance
        self.home = home or state_dir()

    def compose_file(self) -> Path:
        """The compose file of this instance (rendered first for a non-default instance)."""
        if self.instance.is_default:
            return self.project / "compose.yaml"
        path = self.home / f"compose-{self.instance.name}" / "compose.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render_compose_file(instance=self.instance, context=str(self.project)))
        return path

    def _client(self) -> docker.DockerClient:
        try:
            return docker.from_env()
        except docker.errors.DockerException as error:
            raise LabError(f"no Docker engine answers: {error}") from None

    def _compose(self, *args: str, env: dict[str, str] | None = None) -> None:
        command = ["docker", "compose", "-f", str(self.compose_file()),
                   "-p", self.instance.project_name, *args]
        result = subprocess.run(
            command, cwd=self.project, env={**os.environ, **(env or {})},
            capture_output=True, text=True,
        )
        if result.returncode != 0:
            tail = "\n".join(result.stderr.strip().splitlines()[-8:])
            raise LabError(f"docker compose {args[0]} failed:\n{tail}")

    def up(self, progress: Progress) -> None:
        self.ensure_slot_is_free()
        client = self._client()
        base = choose_base_image(client, self.project, progress)
        if base == LOCAL_BASE_IMAGE:
            fill_wheelhouse(self.project, progress)
        captures = captures_dir()
        captures.mkdir(parents=True, exist_ok=True)
        env = {"MAILLAB_BASE_IMAGE": base, "MAILLAB_CAPTURES_DIR": str(captures)}
        progress(f"building the role image on {base}")
        self._compose("build", env=env)
        # before any container runs (a rule may name a bridge that does not exist yet)
        seal_host(addressing(self.runtime, instance=self.instance), progress)
        progress("starting the lab's containers and waiting until they are healthy")
        try:
            self._compose("up", "--detach", "--wait", "--wait-timeout", "180", env=env)
        except LabError as error:
            raise LabError(f"{error}\n{self._unhealthy_report(client)}") from None

    def _containers(self, client: docker.DockerClient) -> list[Any]:
        return list(client.containers.list(
            all=True, filters={"label": f"com.docker.compose.project={self.instance.project_name}"}
        ))

    def _unhealthy_report(self, client: docker.DockerClient) -> str:
        lines = []
        for container in self._containers(client):
            state = container.attrs["State"]
            health = state.get("Health", {}).get("Status", "")
            if state["Status"] != "running" or health not in ("", "healthy"):
                service = container.labels.get("com.docker.compose.service", container.name)
                logs = container.logs(tail=5).decode(errors="replace").strip()
                lines.append(f"{service}: {state['Status']} {health}\n    {logs}")
        return "\n".join(lines) or "(every container runs)"

    def down(self, progress: Progress) -> None:
        progress("removing the lab's containers, networks and volumes")
        self._compose("down", "--volumes", "--remove-orphans", "--timeout", "5")
        unseal_host(addressing(self.runtime, instance=self.instance))

    def shell(self, role: str, interactive: bool) -> ShellCommand:
        lab_role = LAB.role(role)
        for container in self._containers(self._client()):
            service = container.labels.get("com.docker.compose.service")
            if service == role and container.status == "running":
                return compose_shell(container.name, lab_role, interactive)
        raise LabError(f"role {role} has no running container (run: labctl up)")

    def status(self) -> dict[str, str]:
        states = {}
        for container in self._containers(self._client()):
            service = container.labels.get("com.docker.compose.service", container.name)
            state = container.attrs["State"]
            health = state.get("Health", {}).get("Status")
            states[service] = f"{state['Status']}" + (f" ({health})" if health else "")
        return states
