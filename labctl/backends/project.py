# Where the maillab project folder is (compose.yaml, roles/, captures/), and the
# environment the compose runtime is started with.
from __future__ import annotations

import os
from pathlib import Path

import labctl


def project_dir() -> Path:
    """MAILLAB_PROJECT_DIR, else the checkout labctl runs from, else the current folder."""
    configured = os.environ.get("MAILLAB_PROJECT_DIR")
    if configured:
        return Path(configured).resolve()
    checkout = Path(labctl.__file__).resolve().parent.parent
    if (checkout / "compose.yaml").exists():
        return checkout
    return Path.cwd()


def captures_dir() -> Path:
    """Where pcaps go: MAILLAB_CAPTURES_DIR, else captures/ in the project folder."""
    configured = os.environ.get("MAILLAB_CAPTURES_DIR")
    return Path(configured).resolve() if configured else project_dir() / "captures"


def state_dir() -> Path:
    """Where the local runtime keeps its processes' data and logs."""
    return project_dir() / ".maillab"
