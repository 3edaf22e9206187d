# The controller's API contract without a running lab: OpenAPI, 422 naming the field
# for malformed bodies, scenario errors naming file and field, 404s for unknown ids,
# and agents that do not answer reported as such.
from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from labctl.controller.app import create_app
from labctl.controller.settings import ControllerSettings
from labctl.model import Runtime
from tests.conftest import DATA, TEST_INSTANCE


@pytest.fixture
def api(tmp_path: Path) -> Iterator[TestClient]:
    settings = ControllerSettings(
        runtime=Runtime.LOCAL, instance=TEST_INSTANCE.name, captures_dir=tmp_path,
        capture_mode="tcpdump",
    )
    with TestClient(create_app(settings)) as client:
        yield client


def test_openapi_lists_every_resource(api: TestClient) -> None:
    paths = api.get("/openapi.json").json()["paths"]
    for path in ("/lab", "/messages", "/messages/{message_id}", "/fetches", "/captures",
                 "/captures/{capture_id}/pcaps/{network}", "/runs", "/runs/{run_id}",
                 "/servers/{role}/queue", "/servers/{role}/mailboxes/{address}"):
        assert path in paths, path
    assert api.get("/docs").status_code == 200


def test_malformed_message_body_gets_422_naming_the_field(api: TestClient) -> None:
    response = api.post("/messages", json={"to": "no at sign", "subject": 3})
    assert response.status_code == 422
    fields = {tuple(error["loc"]) for error in response.json()["detail"]}
    assert ("body", "to") in fields and ("body", "subject") in fields


def test_unknown_field_is_rejected(api: TestClient) -> None:
    response = api.post("/messages", json={"to": "bob@hamburger.edu", "colour": "red"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "colour"]


def test_invalid_scenario_gets_422_with_file_field_and_problem(api: TestClient) -> None:
    text = (DATA / "scenarios" / "bad-expect.yaml").read_text()
    response = api.post("/runs", json={"scenario": text, "source": "bad-expect.yaml"})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "bad-expect.yaml" in detail and "expect" in detail


def test_unknown_ids_are_404_and_say_which(api: TestClient) -> None:
    assert "run-x" in api.get("/runs/run-x").json()["detail"]
    assert api.get("/captures/nope/analysis").status_code == 404
    assert "mallory" in api.get("/servers/mallory/queue").json()["detail"]


def test_user_agent_role_must_be_a_user_agent(api: TestClient) -> None:
    response = api.post("/messages", json={"from_role": "sender-mta", "to": "bob@hamburger.edu"})
    assert response.status_code == 422
    assert "mailserver" in response.json()["detail"]


def test_lab_reports_agents_that_do_not_answer(api: TestClient) -> None:
    lab = api.get("/lab").json()
    assert lab["runtime"] == "local"
    assert {r["name"] for r in lab["roles"]} >= {"sender-ua", "receiver-mta"}
    assert not lab["healthy"]  # no lab of the test instance runs here
    for role in lab["roles"]:  # which agent failed at which URL
        assert role["health"].startswith(f"{role['name']} agent at http://"), role
    assert [k["network"] for k in lab["links"]] == ["alice-lan", "internet", "bob-lan"]


@pytest.mark.parametrize(("body", "loc"), [
    ({"to": "bob@hamburger.edu", "headers": {"X-A": "a\r\nBcc: carol@crepes.fr"}},
     ["body", "headers", "X-A"]),
    ({"to": "bob@hamburger.edu", "subject": "Hi\nthere"}, ["body", "subject"]),
    ({"to": "bøb@hamburger.edu"}, ["body", "to"]),
    ({"to": "bob@hamburger.edu", "headers": {"": "x"}}, ["body", "headers", "", "[key]"]),
])
def test_what_cannot_be_a_header_is_422_naming_the_field(
    api: TestClient, body: dict[str, object], loc: list[str]
) -> None:
    response = api.post("/messages", json=body)
    assert response.status_code == 422, response.text
    assert [e["loc"] for e in response.json()["detail"]] == [loc]


@pytest.mark.parametrize("raw", [
    b'{"to": "bob@hamburger.edu", "subject": "\\ud800"}',
    b'{"to": "\\udfff@hamburger.edu"}',
    b'{"to": "bob@hamburger.edu", "headers": {"X-\\ud800": "x"}}',
])
def test_lone_surrogate_is_422_not_a_crash(api: TestClient, raw: bytes) -> None:
    response = api.post("/messages", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][0] == "body"


@pytest.mark.parametrize("address", ["%00", "%0A", "%7F", "bob%00@hamburger.edu",
                                     "bob@hamburger.edu%0D%0AX", "%ED%A0%80", "a%20b@x"])
def test_mailbox_path_that_is_no_address_is_422_naming_it(api: TestClient, address: str) -> None:
    response = api.get(f"/servers/receiver-mta/mailboxes/{address}")
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["path", "address"]
    assert api.get("/health").status_code == 200  # and the next request is served


def test_docs_load_from_the_controller_only(api: TestClient) -> None:
    for page in ("/docs", "/redoc"):
        html = api.get(page).text
        assert "openapi.json" in html and not re.search(r"https?://|//[a-z]", html), html
        urls = re.findall(r"""(?:src|href|url)\s*[:=]\s*['"]([^'"]+)['"]""", html)
        assert urls, html
        external = [u for u in urls if not u.startswith("/")]
        assert external == [], f"{page} loads {external}"
        for url in urls:
            response = api.get(url)
            assert response.status_code == 200 and len(response.content) > 1000, url
    bundle = api.get("/docs-assets/swagger-ui-bundle.js")
    assert "javascript" in bundle.headers["content-type"]


def test_fetch_options_the_protocol_cannot_honour_get_422_naming_the_field(
    api: TestClient
) -> None:
    response = api.post("/fetches", json={"protocol": "pop3", "part": "1"})
    assert response.status_code == 422
    assert "part: only with protocol imap, not pop3" in response.json()["detail"][0]["msg"]
    response = api.post("/fetches", json={"protocol": "imap", "partial": [0, 0]})
    assert response.json()["detail"][0]["loc"] == ["body", "partial", 1]


def test_a_program_for_a_role_the_scenario_does_not_replace_gets_422(api: TestClient) -> None:
    text = (Path(__file__).resolve().parents[2] / "scenarios" / "smtp-client.yaml").read_text()
    program = {"command": "python3 a.py", "bundle": ""}
    response = api.post("/runs", json={"scenario": text, "source": "smtp-client.yaml",
                                       "programs": {"mallory": program}})
    assert response.status_code == 422
    assert "smtp-client.yaml has no program step for mallory" in response.json()["detail"]
    program["command"] = "a\nb"
    response = api.post("/runs", json={"scenario": text, "programs": {"sender-ua": program}})
    assert response.status_code == 422 and "one line" in str(response.json()["detail"])


def test_acting_on_the_lab_during_a_graded_run_gets_409(api: TestClient) -> None:
    # what a run does not record must not happen meanwhile; a program being graded cannot
    # have the lab do its work for it
    state = api.app.state.maillab  # type: ignore[attr-defined]
    asyncio.run(state.run_lock.acquire())  # as a run in progress holds it
    try:
        for method, path, body in [
            ("POST", "/messages", {"to": "bob@hamburger.edu"}),
            ("POST", "/fetches", {"role": "receiver-ua"}),
            ("POST", "/servers/sender-mta/queue/flush", None),
            ("PUT", "/servers/receiver-mta/service", {"up": False}),
            ("POST", "/captures", None),
        ]:
            response = api.request(method, path, json=body)
            assert response.status_code == 409, (path, response.text)
            assert "graded run is in progress" in response.json()["detail"]
        assert api.get("/runs").status_code == 200  # reading is fine
    finally:
        state.run_lock.release()
