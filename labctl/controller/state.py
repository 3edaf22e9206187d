# The controller's live state: the addressing plan of its runtime and instance, the clients of the
# role agents, the capture sessions and the finished scenario runs. One per app.
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from labctl.capture.manager import CaptureManager
from labctl.controller.agents import Agents
from labctl.controller.settings import ControllerSettings
from labctl.model import Addressing


@dataclass
class ControllerState:
    settings: ControllerSettings
    plan: Addressing
    agents: Agents
    captures: CaptureManager
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)  # run id -> JSON report
    # One scenario run at a time: a run's captures would otherwise record another's traffic.
    run_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @classmethod
    def from_settings(cls, settings: ControllerSettings) -> ControllerState:
        """Build the state of a controller for the runtime `settings` name."""
        plan = settings.plan()
        return cls(
            settings=settings,
            plan=plan,
            agents=Agents(plan, settings.agent_token()),
            captures=CaptureManager(
                plan, settings.captures_dir, settings.capture_mode, settings.public_pcap_path,
                settings.capture_limit_bytes(),
            ),
        )

    async def open(self) -> None:
        await self.captures.open()

    async def close(self) -> None:
        await self.captures.close()
        await self.agents.close()
