# The scenario runner's server steps through the controller's LabActions, on a real
# mail server's control agent: take it down and up, wait on its queue, flush it, read
# and change its lab options.
from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from labctl.controller.lab_actions import ControllerLabActions
from labctl.controller.settings import ControllerSettings
from labctl.controller.state import ControllerState
from labctl.model import Runtime
from labctl.model.options import LabOptionChanges, LabOptions
from roles.mailserver.server import MailServer
from tests.conftest import TEST_INSTANCE
from tests.controller.test_queue_routes import AgentsAt, sender
from tests.roles.conftest import lab_dns, start_server, wait_until

__all__ = ["lab_dns", "sender", "start_server"]  # the fixtures this module uses


@pytest.fixture
async def actions(sender: MailServer, tmp_path: Path) -> AsyncIterator[ControllerLabActions]:
    settings = ControllerSettings(runtime=Runtime.LOCAL, instance=TEST_INSTANCE.name,
                                  captures_dir=tmp_path, capture_mode="tcpdump")
    state = ControllerState.from_settings(settings)
    state.agents = AgentsAt(state.plan,
                            {"sender-mta": "http://{}:{}".format(*sender.address("control"))})
    yield ControllerLabActions(state)
    await state.agents.close()


async def test_set_server_takes_the_server_down_and_up(actions: ControllerLabActions,
                                                       sender: MailServer) -> None:
    await actions.set_server("sender-mta", False)
    assert not sender.is_up and len(sender.queue.messages()) == 2
    await actions.set_server("sender-mta", True)
    assert sender.is_up


async def test_wait_queued_sees_the_attempts_and_flush_adds_one(
        actions: ControllerLabActions, sender: MailServer) -> None:
    assert await actions.wait_queued("sender-mta", 2, 1, 5.0)
    assert not await actions.wait_queued("sender-mta", 3, 1, 0.3)
    assert not await actions.wait_queued("sender-mta", 1, 2, 0.3)
    assert await actions.flush("sender-mta") == 2
    await wait_until(lambda: [m.attempts for m in sender.queue.messages()] == [2, 2])
    assert await actions.wait_queued("sender-mta", 2, 2, 5.0)


async def test_set_options_changes_those_named_on_the_server_and_options_reads_them(
        actions: ControllerLabActions, sender: MailServer) -> None:
    before = await actions.options("sender-mta")
    assert before == sender.settings.options == LabOptions()
    changed = await actions.set_options("sender-mta", LabOptionChanges(spf="junk",
                                                                       trust_lan=True))
    assert changed == sender.settings.options == LabOptions(spf="junk", trust_lan=True)
    assert await actions.options("sender-mta") == changed
    assert await actions.set_options("sender-mta", before.as_changes()) == before
    assert sender.settings.options == before
