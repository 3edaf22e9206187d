# Choosing a backend: compose when a Docker engine answers, local otherwise, unless
# the user says which with --backend (or MAILLAB_BACKEND). The lab instance is
# MAILLAB_INSTANCE's unless given.
from __future__ import annotations

import os

from labctl.backends.base import LabBackend, LabError
from labctl.backends.compose import ComposeBackend, engine_available
from labctl.backends.local import LocalBackend
from labctl.model import InstanceError, LabInstance, current_instance

BACKENDS = ("compose", "local")


def choose_backend(name: str | None = None, instance: LabInstance | None = None) -> LabBackend:
    """The backend called `name` (automatic when None or 'auto') for lab `instance`."""
    try:
        instance = instance or current_instance()
    except InstanceError as error:
        raise LabError(f"MAILLAB_INSTANCE: {error}") from None
    name = name or os.environ.get("MAILLAB_BACKEND") or "auto"
    if name == "auto":
        name = "compose" if engine_available() else "local"
    if name == "compose":
        return ComposeBackend(instance=instance)
    if name == "local":
        return LocalBackend(instance=instance)
    raise LabError(f"unknown backend {name!r} (choose from: auto, {', '.join(BACKENDS)})")
