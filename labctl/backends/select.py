# Choosing a backend: compose when a Docker engine answers, local otherwise, unless
# the user says which with --backend (or MAILLAB_BACKEND). A local lab that is up while
# no compose lab of the same instance is wins the automatic choice, so `labctl status`,
# `send` or `down` after `labctl up --backend local` reach that lab. The lab instance is
# MAILLAB_INSTANCE's unless given. The backends are imported only when one is chosen, so
# commands that need none (labctl analyze) do not load the Docker SDK.
from __future__ import annotations

import os

from labctl.backends.base import LabBackend, LabError
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
        name = _automatic(instance)
    if name == "compose":
        from labctl.backends.compose import ComposeBackend

        return ComposeBackend(instance=instance)
    if name == "local":
        from labctl.backends.local import LocalBackend

        return LocalBackend(instance=instance)
    raise LabError(f"unknown backend {name!r} (choose from: auto, {', '.join(BACKENDS)})")


def _automatic(instance: LabInstance) -> str:
    """compose when a Docker engine answers, unless only this instance's local lab is up."""
    from labctl.backends.compose import ComposeBackend, engine_available
    from labctl.backends.local import LocalBackend

    if not engine_available():
        return "local"
    if not ComposeBackend(instance=instance).is_up() and LocalBackend(instance=instance).is_up():
        return "local"
    return "compose"
