# The controller's live state: the addressing plan of its runtime and instance, the clients of the
# role agents, the capture sessions and the scenario runs (under way and finished). One per app.
from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any, Literal

from labctl.capture.manager import CaptureManager
from labctl.controller.agents import Agents
from labctl.controller.settings import ControllerSettings
from labctl.model import Addressing
from labctl.program_contract import ProgramSpec
from labctl.scenarios.exercise import Desk
from labctl.scenarios.schema import Scenario

# queued: waits for the run lock; waiting: an exercise waits for the student;
# done: the report is in ControllerState.runs; failed / cancelled: no report.
RunState = Literal["queued", "running", "waiting", "done", "failed", "cancelled"]


@dataclass
class ScenarioRun:
    """One run of a scenario, from its start to its report: its task and its state."""

    id: str
    scenario: Scenario
    desk: Desk | None  # where an attended run waits for its student; None: unattended
    programs: dict[str, ProgramSpec] = field(default_factory=dict)  # student mode, by role
    phase: RunState = "queued"  # "waiting" is read from the desk (see state)
    error: str | None = None  # why a failed run failed
    task: asyncio.Task[None] | None = None

    @property
    def state(self) -> RunState:
        """The run's state, "waiting" while an exercise waits for the student."""
        waiting = self.desk is not None and self.desk.waiting is not None
        return "waiting" if self.phase == "running" and waiting else self.phase


@dataclass
class ControllerState:
    settings: ControllerSettings
    plan: Addressing
    agents: Agents
    captures: CaptureManager
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)  # run id -> JSON report
    scenario_runs: dict[str, ScenarioRun] = field(default_factory=dict)  # run id -> its run
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
        for run in self.scenario_runs.values():  # a run waiting for a student ends here
            if run.task is not None and not run.task.done():
                run.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await run.task
        await self.captures.close()
        await self.agents.close()
