# The queue routes end to end: controller -> a real mail server's control agent -> its
# queue and relay. The receiver is down, so messages stay queued while we look.
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from labctl.controller.agents import Agents
from labctl.controller.app import create_app
from labctl.controller.settings import ControllerSettings
from labctl.controller.state import ControllerState
from labctl.model import Addressing, Runtime
from roles.mailserver.server import MailServer
from tests.conftest import AGENT_TOKEN, TEST_INSTANCE
from tests.roles.conftest import (
    RECEIVER_INTERNET,
    StartServer,
    free_port,
    lab_dns,
    start_server,
    wait_until,
)
from tests.roles.mailserver.submission import ALICE, BOB, make_message, submit

__all__ = ["lab_dns", "start_server"]  # the in-process fixtures, shared with tests/roles


class AgentsAt(Agents):
    """The controller's agent client, pointed at agents on test-chosen ports."""

    def __init__(self, plan: Addressing, urls: dict[str, str]) -> None:
        super().__init__(plan, AGENT_TOKEN)
        self.urls = urls

    def url(self, role: str) -> str:
        return self.urls[role]


@pytest.fixture
async def sender(start_server: StartServer) -> MailServer:
    """sender-mta with two messages for Bob waiting (the receiver is down)."""
    server = await start_server("sender-mta",
                                peer_smtp_ports={"receiver-mta": free_port(RECEIVER_INTERNET)},
                                retry_base_seconds=60.0, retry_max_seconds=60.0)
    for n in range(2):
        await asyncio.to_thread(submit, server.address("submission"),
                                make_message(ALICE, BOB, f"waiting {n}"))
    await wait_until(lambda: [m.attempts for m in server.queue.messages()] == [1, 1])
    return server


@pytest.fixture
async def api(sender: MailServer, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = ControllerSettings(runtime=Runtime.LOCAL, instance=TEST_INSTANCE.name,
                                  captures_dir=tmp_path, capture_mode="tcpdump")
    app = create_app(settings)
    state = ControllerState.from_settings(settings)
    state.agents = AgentsAt(state.plan,
                            {"sender-mta": "http://{}:{}".format(*sender.address("control"))})
    app.state.maillab = state
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://controller") as client:
        yield client
    await state.agents.close()


async def queue_of(api: httpx.AsyncClient) -> list[dict[str, Any]]:
    response = await api.get("/servers/sender-mta/queue")
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()
    return entries


async def test_queue_lists_each_message_with_its_delivery_state(api: httpx.AsyncClient) -> None:
    entries = await queue_of(api)
    assert [e["message_id"] for e in entries] == ["<waiting-0@test>", "<waiting-1@test>"]
    for entry in entries:
        assert entry["mail_from"] == ALICE and entry["rcpt_tos"] == [BOB]
        assert entry["attempts"] == 1 and entry["state"] == "queued"
        assert "cannot connect to receiver-mta" in entry["last_error"]
        assert entry["created"] <= entry["next_attempt"] - 59


async def test_flush_retries_everything_now(api: httpx.AsyncClient, sender: MailServer) -> None:
    response = await api.post("/servers/sender-mta/queue/flush")
    assert response.json() == {"flushed": 2}
    await wait_until(lambda: [m.attempts for m in sender.queue.messages()] == [2, 2])


async def test_delete_removes_one_then_404_and_malformed_ids_get_422(
        api: httpx.AsyncClient, sender: MailServer) -> None:
    first, second = (e["id"] for e in await queue_of(api))
    response = await api.delete(f"/servers/sender-mta/queue/{first}")
    assert response.json() == {"deleted": first}
    assert [e["id"] for e in await queue_of(api)] == [second]
    again = await api.delete(f"/servers/sender-mta/queue/{first}")
    assert again.status_code == 404 and first in again.json()["detail"]
    for malformed in ("no*such", ".hidden", "x" * 200):
        response = await api.delete(f"/servers/sender-mta/queue/{malformed}")
        assert response.status_code == 422, malformed
    assert (await api.delete(f"/servers/sender-ua/queue/{second}")).status_code == 404
    await api.post("/servers/sender-mta/queue/flush")  # the deleted one is not retried
    await wait_until(lambda: [m.attempts for m in sender.queue.messages()] == [2])


async def test_a_server_is_taken_down_and_up_through_the_controller(
        api: httpx.AsyncClient, sender: MailServer) -> None:
    assert (await api.get("/servers/sender-mta/service")).json() == {"up": True}
    down = await api.put("/servers/sender-mta/service", json={"up": False})
    assert down.status_code == 200 and down.json() == {"up": False}
    assert not sender.is_up and "submission" not in sender.bound
    assert len(await queue_of(api)) == 2, "its queue is kept while it is down"
    assert (await api.put("/servers/sender-mta/service", json={"up": True})).json() == {
        "up": True}
    assert sender.is_up
    for role, status in (("sender-ua", 404), ("nobody", 404)):
        assert (await api.put(f"/servers/{role}/service", json={"up": False})).status_code == status
    assert (await api.put("/servers/sender-mta/service", json={"up": 1.5})).status_code == 422
