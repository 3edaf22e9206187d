# Postfix as a peer of the interop tests: bench.postfix's private instance, skipped
# (not failed) where Postfix is missing or cannot be started by this user.
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from bench.postfix import PostfixInstance, postfix_problem
from bench.postfix import running_postfix as _running_postfix
from tests.peers.tools import require_tool


def require_postfix() -> None:
    """Skip the calling test when Postfix is missing (see require_tool) or cannot be
    started by this user."""
    require_tool("postfix", "smtp-source", "smtp-sink")
    problem = postfix_problem()
    if problem is not None:
        pytest.skip(problem)


@contextmanager
def running_postfix(hostname: str, listen: tuple[str, int], domain: str | None = None,
                    relay_to: tuple[str, int] | None = None,
                    bind_address: str | None = None) -> Iterator[PostfixInstance]:
    """A started private Postfix (see bench.postfix); skips the test when there is none."""
    require_postfix()
    with _running_postfix(hostname, listen, domain, relay_to, bind_address) as instance:
        yield instance
