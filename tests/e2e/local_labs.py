# Bringing a local lab up for an end-to-end test module: the test instance, its own
# state and captures folder, a capture mode, and lab options from the environment.
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest

from labctl.backends.local import LocalBackend
from labctl.client import ControllerClient
from labctl.model import LabInstance
from tests.conftest import TEST_INSTANCE, wait_for
from tests.peers.tools import require_packet_capture


def capture_modes() -> list[str]:
    """tcpdump (where this user may capture packets: running_local_lab checks) and the
    recording relays."""
    return ["tcpdump", "relay"]


@contextmanager
def running_local_lab(home: Path, capture_mode: str, options: dict[str, str] | None = None,
                      instance: LabInstance = TEST_INSTANCE) -> Iterator[LocalBackend]:
    """A local lab (the test instance's by default), up in `home` with `options`
    (MAILLAB_* variables)."""
    if capture_mode == "tcpdump":
        require_packet_capture()
    patch = pytest.MonkeyPatch()
    for name, value in (options or {}).items():
        patch.setenv(name, value)
    patch.setenv("MAILLAB_CAPTURES_DIR", str(home / "captures"))
    patch.setenv("MAILLAB_CAPTURE_MODE", capture_mode)
    backend = LocalBackend(home=home, instance=instance)
    try:
        backend.up(lambda _: None)
        yield backend
    finally:
        backend.down(lambda _: None)
        patch.undo()


def wait_delivered(controller: ControllerClient, message_id: str,
                   to: str = "bob@hamburger.edu") -> None:
    """Wait until the controller finds `message_id` in the mailbox of `to`, and only there."""
    def delivered() -> list[str]:
        status = controller.request("GET", f"/messages/{quote(message_id)}")
        return list(status["delivered_to"])

    wait_for(delivered, f"{message_id} was not delivered to {to}")
    assert delivered() == [to]
