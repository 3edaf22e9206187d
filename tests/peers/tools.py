# Running a real third-party program (swaks, curl, fetchmail, s-nail...) from a test.
from __future__ import annotations

import os
import shutil
import subprocess

import pytest


def require_tool(*tools: str) -> None:
    """Skip the calling test when a program is missing (fail instead if MAILLAB_REQUIRE_TOOLS=1)."""
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if not missing:
        return
    if os.environ.get("MAILLAB_REQUIRE_TOOLS") == "1":
        pytest.fail(f"{', '.join(missing)} not installed, and MAILLAB_REQUIRE_TOOLS=1")
    pytest.skip(f"{', '.join(missing)} not installed")


def run(command: list[str], stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    """Run a real program (30 s at most); see require_tool when it is missing."""
    require_tool(command[0])
    return subprocess.run(command, input=stdin, capture_output=True, timeout=30)
