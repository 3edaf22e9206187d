# The controller's side of the control agents: one small HTTP client per role,
# reaching each role's agent on the management network only.
from __future__ import annotations

from typing import Any

import httpx

from labctl.client import error_detail
from labctl.model import Addressing


class AgentError(RuntimeError):
    """A role's control agent could not be reached (status None) or refused the request."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class Agents:
    """HTTP calls to the roles' control agents."""

    def __init__(self, plan: Addressing, timeout: float = 60.0) -> None:
        self.plan = plan
        self._client = httpx.AsyncClient(timeout=timeout)

    async def close(self) -> None:
        await self._client.aclose()

    async def call(self, role: str, method: str, path: str, body: Any = None) -> Any:
        """Call `path` on `role`'s agent and return its JSON; AgentError says who failed how."""
        url = self.url(role) + path
        try:
            response = await self._client.request(method, url, json=body)
        except httpx.HTTPError as error:
            raise AgentError(f"{role} agent at {url} unreachable: {error!r}") from error
        if response.status_code >= 400:
            detail = error_detail(response)
            raise AgentError(f"{role} agent {method} {path}: {response.status_code} {detail}",
                             response.status_code)
        return response.json()

    def url(self, role: str) -> str:
        """The base URL of `role`'s control agent."""
        return self.plan.control_url(role)

    async def health(self, role: str) -> str:
        """'ok' when the role's agent answers, else the reason it does not."""
        try:
            await self.call(role, "GET", "/health")
        except AgentError as error:
            return str(error)
        return "ok"
