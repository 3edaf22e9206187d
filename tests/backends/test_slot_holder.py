# Two lab names can hash to one slot (the same subnets, bridges and controller ports):
# `labctl up` of one refuses while a lab of the other name runs there, and says which.
from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from labctl.backends.base import LabError, slot_holder
from labctl.backends.local import LocalBackend
from labctl.model import LabInstance, Runtime, addressing

# a slot of the tests' own: the slot of a fresh name (never the default lab's slot 0)
SLOT = LabInstance.named(f"test-{secrets.token_hex(4)}").slot


def answering(body: bytes) -> type[BaseHTTPRequestHandler]:
    class Health(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass
    return Health


@pytest.fixture
def controller_on_the_slot(request: pytest.FixtureRequest) -> Iterator[None]:
    """A controller of the lab `request.param` answering /health on SLOT's local port."""
    holder = LabInstance(str(request.param), SLOT)
    port = addressing(Runtime.LOCAL, instance=holder).controller_port
    body = json.dumps({"instance": holder.name, "runtime": "local"}).encode()
    server = HTTPServer(("127.0.0.1", port), answering(body))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("controller_on_the_slot", ["class-b"], indirect=True)
@pytest.mark.usefixtures("controller_on_the_slot")
def test_up_refuses_a_slot_that_a_lab_of_another_name_holds(tmp_path: Path) -> None:
    claimer = LabInstance("class-a", SLOT)
    assert slot_holder(claimer) == ("class-b", Runtime.LOCAL)
    with pytest.raises(LabError, match="running local lab 'class-b'") as refused:
        LocalBackend(tmp_path, claimer).up(lambda _: None)
    assert "labctl --lab class-b down" in str(refused.value)
    assert not (tmp_path / claimer.state_folder).exists(), "nothing was started or written"


@pytest.mark.parametrize("controller_on_the_slot", ["class-a"], indirect=True)
@pytest.mark.usefixtures("controller_on_the_slot")
def test_the_lab_itself_on_its_slot_is_no_obstacle() -> None:
    assert slot_holder(LabInstance("class-a", SLOT)) is None


def test_a_free_slot_or_a_port_that_is_not_a_lab_is_no_obstacle() -> None:
    assert slot_holder(LabInstance("class-a", SLOT)) is None
    port = addressing(Runtime.COMPOSE, instance=LabInstance("x", SLOT)).controller_port
    server = HTTPServer(("127.0.0.1", port), answering(b"not json"))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        assert slot_holder(LabInstance("class-a", SLOT)) is None
    finally:
        server.shutdown()
        server.server_close()
