# Dovecot as a peer of the tests: bench.dovecot's private instance on a loopback address
# of the test lab instance (a free port unless the test names one), skipped where Dovecot
# is not installed (failed instead with MAILLAB_REQUIRE_TOOLS=1, see require_tool).
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from bench.dovecot import DOVECOT_PROGRAMS, DovecotInstance
from bench.dovecot import running_dovecot as _running_dovecot
from tests.peers.tools import require_tool
from tests.roles.conftest import free_port

__all__ = ["DovecotInstance", "require_dovecot", "running_dovecot"]


def require_dovecot() -> None:
    """Skip the calling test when Dovecot is not installed (see require_tool)."""
    require_tool(*DOVECOT_PROGRAMS)


@contextmanager
def running_dovecot(users: dict[str, str], host: str,
                    imap_port: int | None = None) -> Iterator[DovecotInstance]:
    """A started private Dovecot (see bench.dovecot) serving `users` on `host`."""
    require_dovecot()
    with _running_dovecot(users, host, imap_port or free_port(host), free_port(host)) as dovecot:
        yield dovecot
