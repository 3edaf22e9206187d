# The runtime backends' one interface. A backend brings the whole lab (roles and
# controller) up and down; everything else (send, capture, run) then goes through
# the controller's HTTP API, which is the same whatever the backend.
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

import httpx

from labctl.backends.role_shell import ShellCommand
from labctl.model import DEFAULT_INSTANCE, LabInstance, Runtime, addressing

Progress = Callable[[str], None]


class LabError(RuntimeError):
    """The lab could not be brought up, down or reached; the message says what failed."""


class LabBackend(ABC):
    """A way to run the lab: compose (containers) or local (processes)."""

    runtime: Runtime
    instance: LabInstance = DEFAULT_INSTANCE

    @abstractmethod
    def up(self, progress: Progress) -> None:
        """Build what is needed and start every role and the controller.

        Returns once the lab is ready (every agent and the controller healthy).
        Raises LabError naming what failed (which role, and its last log lines).
        """

    @abstractmethod
    def down(self, progress: Progress) -> None:
        """Stop and remove every role and the controller; no error when already down."""

    @abstractmethod
    def status(self) -> dict[str, str]:
        """Each role's (and the controller's) state, e.g. {'sender-mta': 'running (healthy)'}."""

    @abstractmethod
    def shell(self, role: str, interactive: bool) -> ShellCommand:
        """How to open a shell in `role` (interactive: a terminal; else run stdin's commands).

        Raises LabError when the role is not running (or KeyError for an unknown role).
        """

    def controller_url(self) -> str:
        return addressing(self.runtime, instance=self.instance).controller_url()

    def ensure_slot_is_free(self) -> None:
        """LabError when a running lab of another name holds this lab's slot (two names can
        hash to one slot: they would share subnets, bridges and controller ports)."""
        holder = slot_holder(self.instance)
        if holder is not None:
            name, runtime = holder
            raise LabError(
                f"lab {self.instance.name!r} would use the addresses and ports of the running "
                f"{runtime} lab {name!r} (both are slot {self.instance.slot}): give this lab "
                f"another name, or take that one down first (labctl --lab {name} down)")

    def roles_down(self) -> list[str]:
        """The lab's roles whose agent does not answer its controller's health check: a lab
        whose controller answers may still have lost a role. Asked of the controller (GET
        /lab), so it holds whatever folder the lab was brought up from."""
        lab = controller_json(self.controller_url(), "/lab", timeout=10)
        roles = lab.get("roles") if lab is not None else None
        if not isinstance(roles, list):
            return ["controller"]
        return [str(role.get("name")) for role in roles
                if isinstance(role, dict) and role.get("health") != "ok"]

    def is_up(self) -> bool:
        """True when this backend's controller answers."""
        health = controller_json(self.controller_url(), "/health")
        return bool(health is not None and health.get("runtime") == self.runtime.value
                    and health.get("instance", DEFAULT_INSTANCE.name) == self.instance.name)


def controller_json(url: str, path: str, timeout: float = 2) -> dict[str, Any] | None:
    """The JSON object a controller at `url` answers on `path`; None when nothing there
    answers 200 with an object (no lab, or something else on the port)."""
    try:
        response = httpx.get(url + path, timeout=timeout)
        answer = response.json() if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return None
    return answer if isinstance(answer, dict) else None


def slot_holder(instance: LabInstance) -> tuple[str, Runtime] | None:
    """(name, runtime) of a running lab other than `instance` on `instance`'s slot: its
    controller answers on one of the slot's controller ports. None when there is none."""
    for runtime in Runtime:
        health = controller_json(addressing(runtime, instance=instance).controller_url(),
                                 "/health")
        if health is not None:
            name = str(health.get("instance", DEFAULT_INSTANCE.name))
            if name != instance.name:
                return name, runtime
    return None
