# Making the role image without a container registry: pick a base image (the public
# default when it is present or can be pulled, else a local Debian one made with
# roles/base-image.sh) and, for a local base, fill roles/wheels/ on this host so the
# image installs maillab and its dependencies with no package index.
from __future__ import annotations

import platform
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import docker
import docker.errors

from labctl.backends.base import LabError, Progress
from labctl.model.compose_file import DEFAULT_BASE_IMAGE

LOCAL_BASE_IMAGE = "maillab-base:bookworm"
LOCAL_BASE_PYTHON = "3.11"  # Debian bookworm's python3


def _present_or_pulled(client: docker.DockerClient, image: str) -> bool:
    try:
        client.images.get(image)
        return True
    except docker.errors.ImageNotFound:
        pass
    try:
        client.images.pull(image)
        return True
    except docker.errors.APIError:
        return False


def choose_base_image(client: docker.DockerClient, project: Path, progress: Progress) -> str:
    """The base image to build on, making the local Debian one if need be."""
    if _present_or_pulled(client, DEFAULT_BASE_IMAGE):
        return DEFAULT_BASE_IMAGE
    if _present_or_pulled(client, LOCAL_BASE_IMAGE):
        return LOCAL_BASE_IMAGE
    progress(f"{DEFAULT_BASE_IMAGE} cannot be pulled; building {LOCAL_BASE_IMAGE} (debootstrap)")
    result = subprocess.run(
        ["bash", str(project / "roles" / "base-image.sh"), LOCAL_BASE_IMAGE],
        capture_output=True, text=True,
    )
    if result.returncode != 0:
        tail = result.stderr.strip().splitlines()[-3:]
        raise LabError(f"cannot make the local base image: {' / '.join(tail)}")
    return LOCAL_BASE_IMAGE


def _requirements(project: Path) -> list[str]:
    with (project / "pyproject.toml").open("rb") as f:
        return list(tomllib.load(f)["project"]["dependencies"])


def fill_wheelhouse(project: Path, progress: Progress) -> None:
    """Put maillab's wheel and its dependencies' wheels (for the base's Python) in roles/wheels."""
    wheels = project / "roles" / "wheels"
    for old in wheels.glob("maillab-*.whl"):
        old.unlink()
    progress("building wheels for the image (roles/wheels)")
    machine = {"x86_64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}.get(
        platform.machine(), platform.machine()
    )
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    commands = [
        [*pip, "wheel", "--no-deps", "--wheel-dir", str(wheels), str(project)],
        [*pip, "download", "--only-binary=:all:", "--dest", str(wheels),
         "--python-version", LOCAL_BASE_PYTHON, "--implementation", "cp",
         "--platform", f"manylinux2014_{machine}", "--platform", f"manylinux_2_17_{machine}",
         "--platform", f"manylinux_2_28_{machine}", "--platform", "any",
         *_requirements(project)],
    ]
    for command in commands:
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            detail = re.sub(r"\s+", " ", result.stderr.strip())[-400:]
            raise LabError(f"cannot build the image's wheels: {detail}")
