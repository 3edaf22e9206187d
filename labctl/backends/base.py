# The runtime backends' one interface. A backend brings the whole lab (roles and
# controller) up and down; everything else (send, capture, run) then goes through
# the controller's HTTP API, which is the same whatever the backend.
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

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

    def is_up(self) -> bool:
        """True when this backend's controller answers."""
        try:
            response = httpx.get(self.controller_url() + "/health", timeout=2)
        except httpx.HTTPError:
            return False
        if response.status_code != 200:
            return False
        health = response.json()
        return bool(health.get("runtime") == self.runtime.value
                    and health.get("instance", DEFAULT_INSTANCE.name) == self.instance.name)
