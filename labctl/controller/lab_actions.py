# The scenario runner's hands in a running lab: send through a user agent, wait for
# delivery, fetch, capture, read the servers' stored state (mailbox folders, queues),
# take a server down and up, wait on and flush its queue, read and change its lab
# options, run a student's program in place of a role — all through the role agents
# and the capture manager.
from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from labctl.agent_contract import (
    FETCH_PATH,
    SEND_PATH,
    SMTP_SESSION_PATH,
    FetchRequest,
    FetchResult,
    SendRequest,
    SendResult,
    SendVia,
    SmtpSessionRequest,
    SmtpSessionResult,
)
from labctl.analysis.results import Hop
from labctl.capture.manager import CaptureSession
from labctl.controller.agents import AgentError
from labctl.controller.state import ControllerState
from labctl.model.mail_queue import FlushResult, QueueEntry
from labctl.model.mail_service import SERVICE_PATH, ServiceState
from labctl.model.options import OPTIONS_PATH, LabOptionChanges, LabOptions
from labctl.program_contract import PROGRAM_PATH, ProgramRequest, ProgramResult
from labctl.scenarios.actions import SentMessage, StoredMessage

POLL_S = 0.2  # how often a wait looks again at the lab's state
PROGRAM_GRACE_S = 15.0  # beyond a program's timeout: stopping it and packing up its output


async def agent_send(state: ControllerState, role: str, request: SendRequest) -> SendResult:
    """Make user agent `role` compose and submit the message `request` describes."""
    answer = await state.agents.call(role, "POST", SEND_PATH, request.model_dump(mode="json"))
    return SendResult.model_validate(answer)


async def agent_fetch(state: ControllerState, role: str, request: FetchRequest) -> FetchResult:
    """Make user agent `role` download its mail."""
    answer = await state.agents.call(role, "POST", FETCH_PATH, request.model_dump(mode="json"))
    return FetchResult.model_validate(answer)


async def poll(condition: Callable[[], Awaitable[bool]], timeout_s: float) -> bool:
    """Check `condition` every POLL_S until it holds (True) or `timeout_s` passed (False)."""
    deadline = time.monotonic() + timeout_s
    while not await condition():
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(POLL_S)
    return True


class ControllerLabActions:
    """LabActions (labctl.scenarios.actions) on the lab this controller runs."""

    def __init__(self, state: ControllerState, label: str = "run") -> None:
        self.state = state
        self.label = label
        self.session: CaptureSession | None = None

    async def send(
        self, role: str, to: str, subject: str, body: str, headers: dict[str, str],
        via: SendVia = "smtp",
    ) -> SentMessage:
        """Make user agent `role` compose and submit a message."""
        request = SendRequest(to=to, subject=subject, body=body, headers=headers, via=via)
        result = await agent_send(self.state, role, request)
        sender = self.state.plan.lab.role(role).user or ""
        return SentMessage(
            message_id=result.message_id,
            raw=result.raw.encode("utf-8"),
            from_address=sender,
            to_address=to,
        )

    async def wait_delivered(self, address: str, message_id: str, timeout_s: float) -> bool:
        """Poll the mailbox of `address` on its server until `message_id` is there."""
        server = self.state.plan.lab.mail_server_for(address.rsplit("@", 1)[-1])
        if server is None:
            return False

        async def delivered() -> bool:
            try:
                listing = await self.state.agents.call(server.name, "GET", f"/mailboxes/{address}")
            except AgentError:
                return False
            return any(m.get("message_id") == message_id for m in listing)

        return await poll(delivered, timeout_s)

    async def fetch(self, role: str, request: FetchRequest) -> list[bytes]:
        """Make user agent `role` fetch its mail as `request` says."""
        result = await agent_fetch(self.state, role, request)
        return [m.encode("utf-8") for m in result.messages]

    async def start_capture(self) -> None:
        self.session = await self.state.captures.start(self.label)

    async def stop_capture(self) -> list[Hop]:
        if self.session is None:
            return []
        await self.state.captures.stop(self.session.id)
        return await asyncio.to_thread(self.state.captures.analyse, self.session.id)

    async def mailbox(self, address: str, folder: str) -> list[StoredMessage]:
        """The messages of one folder of `address`'s mailbox, read from its server."""
        server = self.state.plan.lab.mail_server_for(address.rsplit("@", 1)[-1])
        if server is None:
            raise AgentError(f"no lab mail server for {address}", 404)
        base = f"/mailboxes/{quote(address)}/folders/{quote(folder, '')}"
        stored = []
        for entry in await self.state.agents.call(server.name, "GET", base):
            raw = await self.state.agents.text(server.name, f"{base}/{quote(entry['id'], '')}")
            stored.append(StoredMessage(int(entry["uid"]), tuple(entry["flags"]),
                                        raw.encode("utf-8")))
        return stored

    async def queue(self, role: str) -> list[QueueEntry]:
        """Mail server `role`'s outgoing queue, waiting messages then failed ones."""
        entries = [*await self.state.agents.call(role, "GET", "/queue"),
                   *await self.state.agents.call(role, "GET", "/queue/failed")]
        return [QueueEntry.model_validate(entry) for entry in entries]

    async def set_server(self, role: str, up: bool) -> None:
        """Take mail server `role` down or bring it back up, through its control agent."""
        answer = await self.state.agents.call(role, "PUT", SERVICE_PATH,
                                              ServiceState(up=up).model_dump())
        if ServiceState.model_validate(answer).up != up:
            raise AgentError(f"{role} did not go {'up' if up else 'down'}", 502)

    async def options(self, role: str) -> LabOptions:
        """The lab options mail server `role` goes by, from its control agent."""
        return LabOptions.model_validate(await self.state.agents.call(role, "GET", OPTIONS_PATH))

    async def set_options(self, role: str, changes: LabOptionChanges) -> LabOptions:
        """Change the lab options `changes` sets on mail server `role`, through its agent."""
        answer = await self.state.agents.call(role, "PATCH", OPTIONS_PATH,
                                              changes.option_values())
        options = LabOptions.model_validate(answer)
        if options.changed_by(changes) != options:
            raise AgentError(f"{role} did not take the lab options {changes.option_values()}",
                             502)
        return options

    async def wait_queued(self, role: str, messages: int, attempts: int,
                          timeout_s: float) -> bool:
        """Poll `role`'s queue until `messages` messages wait, each tried `attempts` times."""

        async def queued() -> bool:
            entries = await self.state.agents.call(role, "GET", "/queue")
            tried = [e for e in entries if QueueEntry.model_validate(e).attempts >= attempts]
            return len(tried) >= messages

        return await poll(queued, timeout_s)

    async def flush(self, role: str) -> int:
        """Make every message waiting in `role`'s queue due now."""
        answer = await self.state.agents.call(role, "POST", "/queue/flush")
        return FlushResult.model_validate(answer).flushed

    async def send_raw(self, role: str, server: str, lines: list[str]) -> SmtpSessionResult:
        """Have `role`'s agent type `lines` to `server`'s SMTP port from its own address."""
        request = SmtpSessionRequest(server=server, lines=lines)
        answer = await self.state.agents.call(role, "POST", SMTP_SESSION_PATH,
                                              request.model_dump(mode="json"))
        return SmtpSessionResult.model_validate(answer)

    async def run_program(self, role: str, request: ProgramRequest) -> ProgramResult:
        """Have `role`'s agent run a program in place of the role, where the role lives."""
        answer = await self.state.agents.call(role, "POST", PROGRAM_PATH,
                                              request.model_dump(mode="json"),
                                              timeout=request.timeout_s + PROGRAM_GRACE_S)
        return ProgramResult.model_validate(answer)
