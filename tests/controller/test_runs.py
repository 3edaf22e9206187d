# /runs with exercises, on a controller whose lab is not up (its agents do not answer, so
# every lab action fails fast and is named in the report): a run waits for its report
# as before and then plays each exercise's stand-in; a run started without waiting says
# its state, waits for the student at an exercise until continue or its timeout, and a
# cancelled run frees the run lock.
from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import wait_for
from tests.controller.test_api import api

__all__ = ["api"]  # the fixture this module uses

EXERCISE = """
name: by-hand
steps:
  - exercise:
      prompt: Type the session on mallory, then press Enter.
      timeout_s: {timeout}
      stand_in:
        - flush: {{role: sender-mta}}
checks:
  - {{name: c, points: 1, type: hop_exists, hop: mallory -> receiver-mta, protocol: SMTP}}
"""
STAND_IN_RAN = "steps[0].exercise.stand_in[0] (flush) failed"


def scenario(timeout: float = 900) -> str:
    return EXERCISE.format(timeout=timeout)


def start(api: TestClient, **options: Any) -> str:
    """Start a run without waiting for it; its id."""
    response = api.post("/runs", json={"scenario": scenario(**options), "wait": False,
                                       "attended": True})
    assert response.status_code == 201, response.text
    run_id: str = response.json()["id"]
    return run_id


def state_of(api: TestClient, run_id: str, wanted: str) -> dict[str, Any]:
    """Wait until run `run_id` is in state `wanted`; what GET /runs/{id} says then."""
    def reached() -> dict[str, Any] | None:
        run: dict[str, Any] = api.get(f"/runs/{run_id}").json()
        return run if run["state"] == wanted else None

    return wait_for(reached, f"run {run_id} never reached {wanted}")


def output(run: dict[str, Any]) -> str:
    return str(run["report"]["checks"][0]["output"])


def test_a_run_waited_for_plays_the_stand_in_and_answers_with_its_report(
        api: TestClient) -> None:
    response = api.post("/runs", json={"scenario": scenario(), "source": "by-hand.yaml"})
    assert response.status_code == 201
    run = response.json()
    assert run["state"] == "done" and run["report"]["scenario"] == "by-hand"
    assert STAND_IN_RAN in output(run)
    assert api.get(f"/runs/{run['id']}").json()["report"] == run["report"]
    assert run["id"] in api.get("/runs").json()


def test_an_attended_run_waits_for_the_student_until_continue(api: TestClient) -> None:
    run_id = start(api)
    waiting = state_of(api, run_id, "waiting")
    assert waiting["report"] is None
    assert waiting["waiting"]["step"] == 0
    assert waiting["waiting"]["prompt"] == "Type the session on mallory, then press Enter."
    assert 0 < waiting["waiting"]["time_left_s"] <= waiting["waiting"]["timeout_s"] == 900
    # the student may act on the lab while the exercise waits (no lab here: not 409 though)
    assert api.post("/messages", json={"to": "bob@hamburger.edu"}).status_code != 409
    assert api.post(f"/runs/{run_id}/continue").status_code == 200
    done = state_of(api, run_id, "done")
    assert done["waiting"] is None
    assert STAND_IN_RAN not in output(done) and "timed out" not in output(done)
    again = api.post(f"/runs/{run_id}/continue")
    assert again.status_code == 409
    assert again.json()["detail"] == f"run {run_id} is not waiting for the student " \
                                     "(its state: done)"


def test_an_attended_run_grades_what_was_captured_when_the_exercise_times_out(
        api: TestClient) -> None:
    run_id = start(api, timeout=0.2)
    done = state_of(api, run_id, "done")
    assert "steps[0] (exercise) timed out after 0.2s: graded what was captured" in output(done)
    assert STAND_IN_RAN not in output(done)


def test_a_run_cancelled_while_it_waits_frees_the_run_lock(api: TestClient) -> None:
    run_id = start(api)
    state_of(api, run_id, "waiting")
    cancelled = api.post(f"/runs/{run_id}/cancel")
    assert cancelled.status_code == 200
    assert cancelled.json()["state"] == "cancelled" and cancelled.json()["report"] is None
    # the next run gets the lock: it would wait for ever if the cancelled one held it
    assert api.post("/runs", json={"scenario": scenario()}).json()["state"] == "done"


def test_an_unattended_run_in_the_background_plays_the_stand_in(api: TestClient) -> None:
    response = api.post("/runs", json={"scenario": scenario(), "wait": False})
    assert response.json()["state"] in ("queued", "running", "done")
    assert STAND_IN_RAN in output(state_of(api, response.json()["id"], "done"))


def test_an_attended_run_cannot_be_waited_for(api: TestClient) -> None:
    response = api.post("/runs", json={"scenario": scenario(), "attended": True})
    assert response.status_code == 422
    assert response.json()["detail"].startswith("attended: an attended run waits for the student")


def test_continue_and_cancel_of_an_unknown_run_are_404(api: TestClient) -> None:
    for action in ("continue", "cancel"):
        response = api.post(f"/runs/run-x/{action}")
        assert response.status_code == 404 and "run-x" in response.json()["detail"]
