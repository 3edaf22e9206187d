# Shared fixtures of the analysis tests: the fixture captures, the local addressing
# plan, and tshark as an independent oracle for what a capture contains.
from __future__ import annotations

import importlib.util
import subprocess
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from labctl.model import Addressing, addressing
from tests.peers.tools import require_tool

PCAPS = Path(__file__).resolve().parents[1] / "data" / "pcaps"


@pytest.fixture
def pcaps() -> Path:
    return PCAPS


@pytest.fixture
def local() -> Addressing:
    return addressing("local")


@pytest.fixture(scope="session")
def fixture_maker() -> ModuleType:
    """tests/data/pcaps/make_fixtures.py, imported by path."""
    spec = importlib.util.spec_from_file_location("make_fixtures", PCAPS / "make_fixtures.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _tshark_streams(path: Path) -> list[tuple[bytes, bytes]]:
    """Per TCP stream, (first sender's bytes, other side's bytes) as tshark reassembles them."""
    require_tool("tshark")
    count = subprocess.run(
        ["tshark", "-r", str(path), "-T", "fields", "-e", "tcp.stream"],
        capture_output=True, text=True, check=True,
    ).stdout.split()
    streams = []
    for index in sorted({int(n) for n in count if n}):
        output = subprocess.run(
            ["tshark", "-r", str(path), "-q", "-z", f"follow,tcp,raw,{index}"],
            capture_output=True, text=True, check=True,
        ).stdout
        first, second = bytearray(), bytearray()
        body = output.split("Node 1:", 1)[1].split("\n", 1)[1]
        for line in body.splitlines():
            if line.startswith("="):
                break
            if line.startswith("\t"):
                second += bytes.fromhex(line.strip())
            elif line.strip():
                first += bytes.fromhex(line.strip())
        streams.append((bytes(first), bytes(second)))
    return streams


@pytest.fixture
def tshark_streams() -> Callable[[Path], list[tuple[bytes, bytes]]]:
    """tshark's reassembly of a capture: per stream, (first sender's bytes, the other's)."""
    return _tshark_streams
