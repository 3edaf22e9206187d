# Fixtures of the scenario tests: the data directory and a complete SMTP transcript.
from __future__ import annotations

from pathlib import Path

import pytest

from tests.scenarios.scenario_builders import DATA


@pytest.fixture
def data_dir() -> Path:
    return DATA


@pytest.fixture
def server_dialog() -> list[str]:
    """A complete server-to-server SMTP transcript (multi-line EHLO reply, data lines)."""
    return (DATA / "smtp-server-dialog.txt").read_text().splitlines()
