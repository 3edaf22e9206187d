# The control agents' gate: a FastAPI dependency that admits only the lab's controller
# (the token and its digest are made and stored by agent_auth.py).
from __future__ import annotations

import hmac
import os
from dataclasses import dataclass
from pathlib import Path

from fastapi import HTTPException, Request

from labctl.agent_auth import DIGEST_FILE_ENV, token_digest


@dataclass(frozen=True)
class AgentGuard:
    """A FastAPI dependency admitting only requests that carry the lab's token."""

    digest: str | None

    @classmethod
    def from_env(cls) -> AgentGuard:
        """The guard for the digest in MAILLAB_AGENT_DIGEST_FILE (none: refuse everything)."""
        path = os.environ.get(DIGEST_FILE_ENV)
        return cls(Path(path).read_text().strip() if path else None)

    @classmethod
    def for_token(cls, token: str) -> AgentGuard:
        return cls(token_digest(token))

    def __call__(self, request: Request) -> None:
        if self.digest is None:
            raise HTTPException(403, "this agent has no lab token configured; it accepts no calls")
        scheme, _, presented = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not presented:
            raise HTTPException(401, "only the lab's controller may call this agent",
                                headers={"WWW-Authenticate": "Bearer"})
        if not hmac.compare_digest(token_digest(presented), self.digest):
            raise HTTPException(403, "wrong lab token")
