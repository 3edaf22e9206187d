# The lab token: made once per lab, only its digest leaves the controller's side, and
# an agent admits exactly the requests that carry the token (or none without a digest).
from __future__ import annotations

import stat
from pathlib import Path

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from labctl.agent_auth import (
    authorization_headers,
    main,
    make_lab_secret,
    token_digest,
)
from labctl.agent_guard import AgentGuard


def test_lab_secret_is_made_once_with_the_token_readable_by_its_owner_only(tmp_path: Path) -> None:
    token_file, digest_file = tmp_path / "controller" / "token", tmp_path / "roles" / "digest"
    token = make_lab_secret(token_file, digest_file)
    assert len(token) >= 32 and token_file.read_text().strip() == token
    assert digest_file.read_text().strip() == token_digest(token) != token
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert make_lab_secret(token_file, digest_file) == token, "a restart keeps the lab's token"
    assert main(["--token-dir", str(tmp_path / "a"), "--digest-dir", str(tmp_path / "b")]) == 0
    assert (tmp_path / "a" / "agent-token").read_text() != token_file.read_text()


def _client(guard: AgentGuard) -> TestClient:
    app = FastAPI()

    @app.get("/secret", dependencies=[Depends(guard)])
    def secret() -> str:
        return "mail"

    return TestClient(app)


@pytest.mark.parametrize(("headers", "status"), [
    ({}, 401),
    ({"Authorization": "Bearer wrong"}, 403),
    ({"Authorization": "Basic dG9rZW4="}, 401),
    ({"Authorization": f"Bearer {token_digest('the-token')}"}, 403),  # the digest is no token
    (authorization_headers("the-token"), 200),
])
def test_guard_admits_only_the_token(headers: dict[str, str], status: int) -> None:
    response = _client(AgentGuard.for_token("the-token")).get("/secret", headers=headers)
    assert response.status_code == status, response.text


def test_agent_without_a_digest_admits_nobody(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAILLAB_AGENT_DIGEST_FILE", raising=False)
    response = _client(AgentGuard.from_env()).get(
        "/secret", headers=authorization_headers("anything"))
    assert response.status_code == 403 and "no lab token" in response.json()["detail"]
