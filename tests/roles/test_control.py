# The control agent of the roles that only report their health (dns, mallory).
from __future__ import annotations

from fastapi.testclient import TestClient

from roles.control import agent_app


def test_agent_reports_the_roles_health_and_nothing_else() -> None:
    client = TestClient(agent_app("mallory"))
    assert client.get("/health").json() == {"role": "mallory", "status": "ok"}
    assert client.get("/queue").status_code == 404
