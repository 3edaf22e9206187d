# Choosing a backend: compose when a Docker engine answers, local otherwise, unless
# the user says which with --backend (or MAILLAB_BACKEND).
from __future__ import annotations

import os

from labctl.backends.base import LabBackend, LabError
from labctl.backends.compose import ComposeBackend, engine_available
from labctl.backends.local import LocalBackend

BACKENDS = ("compose", "local")


def choose_backend(name: str | None = None) -> LabBackend:
    """The backend called `name`, or the automatic choice when `name` is None or 'auto'."""
    name = name or os.environ.get("MAILLAB_BACKEND") or "auto"
    if name == "auto":
        name = "compose" if engine_available() else "local"
    if name == "compose":
        return ComposeBackend()
    if name == "local":
        return LocalBackend()
    raise LabError(f"unknown backend {name!r} (choose from: auto, {', '.join(BACKENDS)})")
