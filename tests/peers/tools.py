# Running a real third-party program (swaks, curl, fetchmail, s-nail...) from a test.
from __future__ import annotations

import os
import shutil
import subprocess

import pytest


def run(command: list[str], stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    """Run a real program (30 s at most); skip when absent, fail if MAILLAB_REQUIRE_TOOLS=1."""
    tool = command[0]
    if shutil.which(tool) is None:
        if os.environ.get("MAILLAB_REQUIRE_TOOLS") == "1":
            pytest.fail(f"{tool} is not installed and MAILLAB_REQUIRE_TOOLS=1")
        pytest.skip(f"{tool} is not installed")
    return subprocess.run(command, input=stdin, capture_output=True, timeout=30)
