# The capture manager and its API on a real tcpdump capture of TEST_PLAN's networks:
# start with a limit of its own, stop, the notes in the capture's result and on the
# analysed hops; bad limits refused with the field named.
from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from labctl.capture.manager import CaptureManager
from labctl.capture.recorder import CaptureError
from labctl.controller.app import create_app
from labctl.controller.settings import ControllerSettings
from labctl.model import INTERNET, Runtime
from tests.capture.conftest import tcpdump_only
from tests.capture.smtp_peers import SmtpReceiver, send_messages
from tests.conftest import TEST_INSTANCE, TEST_PLAN

SENDER_MTA = TEST_PLAN.address("sender-mta", INTERNET)
RECEIVER_MTA = TEST_PLAN.address("receiver-mta", INTERNET)


async def _traffic(messages: int) -> None:
    smtp = SmtpReceiver()
    server = await asyncio.start_server(smtp.session, RECEIVER_MTA, 0)
    address = (RECEIVER_MTA, server.sockets[0].getsockname()[1])
    await asyncio.to_thread(send_messages, address, SENDER_MTA, messages)
    await smtp.wait_ended(messages)
    server.close()
    await server.wait_closed()


@tcpdump_only
async def test_limit_note_reaches_the_capture_and_its_hops(tmp_path: Path) -> None:
    manager = CaptureManager(TEST_PLAN, tmp_path, "tcpdump", limit=10**8)
    await manager.open()
    small = await manager.start("small", limit=3000)
    await _traffic(5)
    stopped = await manager.stop(small.id)
    [note] = stopped.problems[INTERNET]
    assert note.startswith(f"capture of {INTERNET} stopped at the 0.003 MB limit")
    hops = manager.analyse(small.id)
    assert hops and all(note in hop.problems for hop in hops if hop.network == INTERNET)
    assert stopped.pcaps[INTERNET].stat().st_size <= 3000
    whole = await manager.start("whole")
    await _traffic(5)
    assert (await manager.stop(whole.id)).problems[INTERNET] == []
    await manager.close()


def test_a_limit_too_small_for_a_packet_is_refused(tmp_path: Path) -> None:
    manager = CaptureManager(TEST_PLAN, tmp_path, "tcpdump")
    with pytest.raises(CaptureError, match="below 1000"):
        asyncio.run(manager.start(limit=100))
    with pytest.raises(ValueError, match="MAILLAB_CAPTURE_LIMIT_MB must be at least"):
        ControllerSettings(capture_limit_mb=0)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[TestClient]:
    settings = ControllerSettings(
        runtime=Runtime.LOCAL, instance=TEST_INSTANCE.name, captures_dir=tmp_path,
        capture_mode="tcpdump", capture_limit_mb=50,
    )
    with TestClient(create_app(settings)) as client:
        yield client


def test_bad_limit_in_the_request_is_422_naming_the_field(api: TestClient) -> None:
    for body in ({"limit_mb": 0}, {"limit_mb": "big"}, {"colour": "red"}):
        response = api.post("/captures", json=body)
        assert response.status_code == 422, body
        assert response.json()["detail"][0]["loc"][0] == "body"
    assert api.get("/captures/nope").status_code == 404


@tcpdump_only
def test_api_starts_shows_and_stops_a_capture_with_its_limit(api: TestClient) -> None:
    default = api.post("/captures").json()
    assert default["running"] and default["limit_bytes"] == 50_000_000
    capture = api.post("/captures", json={"limit_mb": 0.002}).json()
    assert capture["limit_bytes"] == 2000 and capture["mode"] == "tcpdump"
    asyncio.run(_traffic(3))
    stopped = api.post(f"/captures/{capture['id']}/stop").json()
    assert not stopped["running"] and set(stopped["pcaps"]) >= {INTERNET}
    [note] = stopped["problems"][INTERNET]
    assert "stopped at the 0.002 MB limit" in note
    assert api.get(f"/captures/{capture['id']}").json() == stopped
    assert [c["id"] for c in api.get("/captures").json()] == [default["id"], capture["id"]]
    pcap = api.get(f"/captures/{capture['id']}/pcaps/{INTERNET}")
    assert pcap.status_code == 200 and 0 < len(pcap.content) <= 2000
    assert api.post(f"/captures/{capture['id']}/stop").status_code == 409
    api.post(f"/captures/{default['id']}/stop")
