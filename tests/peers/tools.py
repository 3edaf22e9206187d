# Running a real third-party program (swaks, curl, fetchmail, s-nail...) from a test.
from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from labctl.capture.mode import can_capture_packets


def _unavailable(why: str) -> None:
    """Skip the calling test, or fail it where CI says every tool must be there."""
    if os.environ.get("MAILLAB_REQUIRE_TOOLS") == "1":
        pytest.fail(f"{why}, and MAILLAB_REQUIRE_TOOLS=1")
    pytest.skip(why)


def require_tool(*tools: str) -> None:
    """Skip the calling test when a program is missing (fail instead if MAILLAB_REQUIRE_TOOLS=1)."""
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        _unavailable(f"{', '.join(missing)} not installed")


def require_packet_capture() -> None:
    """Skip the calling test when this user may not capture packets with tcpdump (fail
    instead if MAILLAB_REQUIRE_TOOLS=1)."""
    require_tool("tcpdump")
    if not can_capture_packets():
        _unavailable("this user may not capture packets with tcpdump")


def run(command: list[str], stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    """Run a real program (30 s at most); see require_tool when it is missing."""
    require_tool(command[0])
    return subprocess.run(command, input=stdin, capture_output=True, timeout=30)
