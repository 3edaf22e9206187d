# The in-process maillab servers of tests/roles, for the oracle tests that capture them.
from tests.roles.conftest import lab_dns, start_server

__all__ = ["lab_dns", "start_server"]
