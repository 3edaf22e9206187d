# The controller's side of the control agents: one small HTTP client per role,
# reaching each role's agent on the management network only, with the lab token.
from __future__ import annotations

from typing import Any

import httpx

from labctl.agent_auth import authorization_headers
from labctl.client import error_detail
from labctl.model import Addressing

# Agent answers the controller passes on as they are: the request named something that
# is not there (404), conflicts with what the agent is doing (409: a queued message being
# sent), or was invalid (422, its detail names the field).
PASSED_ON = frozenset({404, 409, 422})


class AgentError(RuntimeError):
    """A role's control agent could not be reached or refused the request.

    `status` is what the controller answers in turn: the agent's own 404, 409 or 422
    (see PASSED_ON), else 502.
    """

    def __init__(self, message: str, status: int = 502) -> None:
        super().__init__(message)
        self.status = status


class Agents:
    """HTTP calls to the roles' control agents."""

    def __init__(self, plan: Addressing, token: str | None, timeout: float = 60.0) -> None:
        self.plan = plan
        # A fresh connection per call: an agent that failed one call can never leave a
        # dead pooled connection behind for the next one.
        self._client = httpx.AsyncClient(
            timeout=timeout, headers=authorization_headers(token),
            limits=httpx.Limits(max_keepalive_connections=0),
        )

    async def close(self) -> None:
        await self._client.aclose()

    async def call(self, role: str, method: str, path: str, body: Any = None,
                   timeout: float | None = None) -> Any:
        """Call `path` on `role`'s agent and return its JSON; AgentError says who failed how.
        `timeout`: seconds for this call, when it may take longer than the default."""
        response = await self._request(role, method, path, body, timeout)
        try:
            return response.json()
        except ValueError:
            raise AgentError(f"{role} agent {method} {path}: answer is not JSON") from None

    async def text(self, role: str, path: str) -> str:
        """GET `path` on `role`'s agent and return its text (a raw message, say)."""
        return (await self._request(role, "GET", path, None)).text

    async def _request(self, role: str, method: str, path: str, body: Any,
                       timeout: float | None = None) -> httpx.Response:
        url = self.url(role) + path
        try:
            response = await self._client.request(
                method, url, json=body,
                timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else timeout)
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            raise AgentError(f"{role} agent at {url} unreachable: {error!r}") from error
        if response.status_code >= 400:
            detail = error_detail(response)
            status = response.status_code if response.status_code in PASSED_ON else 502
            raise AgentError(
                f"{role} agent {method} {path}: {response.status_code} {detail}", status
            )
        return response

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
