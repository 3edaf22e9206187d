# The scenario library (scenarios/*.yaml) on a correct local lab: every scenario runs end
# to end through the controller and every one of its checks passes (an exercise, nobody
# attending, through its stand-in; and once attended, typed in mallory's shell). The lab records
# with tcpdump (the MX lookup is a DNS packet, which a recording relay does not see) and
# runs with the default lab options: a scenario that needs others (SPF in junk mode, one
# relay connection per destination) sets them in its setup, and the run after it goes
# by the lab's own again.
from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from labctl.backends.local import LocalBackend
from labctl.cli_programs import programs_for_run, run_body
from labctl.client import ControllerClient
from labctl.scenarios import load_scenario
from tests.conftest import DATA, wait_for
from tests.e2e.local_labs import running_local_lab
from tests.peers.tools import require_tool

pytestmark = pytest.mark.local
LIBRARY = Path(__file__).resolve().parents[2] / "scenarios"
SCENARIOS = sorted(LIBRARY.glob("*.yaml"))


@pytest.fixture(scope="module")
def library_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBackend]:
    with running_local_lab(tmp_path_factory.mktemp("maillab-library"), "tcpdump") as lab:
        yield lab


@pytest.fixture(scope="module")
def local_lab(library_lab: LocalBackend) -> ControllerClient:
    return ControllerClient(library_lab.controller_url())


def run(lab: ControllerClient, path: Path, text: str | None = None) -> dict[str, object]:
    """Run the scenario file at `path` (or `text`, named after it) through the
    controller; its JSON report. A program step runs the scenario's reference program,
    as `labctl run` sends it."""
    body = run_body(path, programs_for_run(load_scenario(path), path))
    if text is not None:
        body["scenario"] = text
    report: dict[str, object] = lab.request("POST", "/runs", body)["report"]
    return report


def failed_checks(report: dict[str, object]) -> list[str]:
    """The checks of a JSON report that failed, each as "name: output"."""
    checks = report["checks"]
    assert isinstance(checks, list)
    return [f"{c['name']}: {c['output']}" for c in checks if not c["passed"]]


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_library_scenario_passes_on_a_correct_lab(local_lab: ControllerClient,
                                                  path: Path) -> None:
    assert_passes(local_lab, path)


def assert_passes(lab: ControllerClient, path: Path) -> None:
    """The scenario at `path` gets every point on `lab`."""
    load_scenario(path)  # valid, or the test says why
    report = run(lab, path)
    failed = failed_checks(report)
    assert not failed, "\n".join(failed)
    assert report["score"] == report["max_score"]


def test_the_lab_is_left_up_after_a_run_that_took_a_server_down(
        local_lab: ControllerClient) -> None:
    run(local_lab, LIBRARY / "receiver-down.yaml")
    for role in ("sender-mta", "receiver-mta"):
        assert local_lab.request("GET", f"/servers/{role}/service") == {"up": True}


def test_the_run_after_one_with_lab_options_goes_by_the_labs_own(
        local_lab: ControllerClient) -> None:
    spoofing = LIBRARY / "spoofing.yaml"
    text = spoofing.read_text()
    assert "setup:\n  spf: off\n" in text
    rejecting = run(local_lab, spoofing, text.replace("spf: off", "spf: reject"))
    assert [line.split(":")[0] for line in failed_checks(rejecting)] == [
        "The forged message is accepted (SPF off)"]  # the setup's reject mode was on
    own_options = run(local_lab, spoofing, text.replace("setup:\n  spf: off\n", ""))
    assert failed_checks(own_options) == []  # the lab's own SPF mode, off, again

def test_an_exercise_typed_by_hand_in_mallorys_shell_is_graded(library_lab: LocalBackend,
                                                               local_lab: ControllerClient,
                                                               ) -> None:
    require_tool("telnet")
    path = LIBRARY / "spoofing-by-hand.yaml"
    body = {"scenario": path.read_text(), "source": path.name, "wait": False, "attended": True}
    run_id = local_lab.request("POST", "/runs", body)["id"]

    def state(wanted: str) -> dict[str, Any]:
        """The run, once in state `wanted` (until then, nothing)."""
        run: dict[str, Any] = local_lab.request("GET", f"/runs/{run_id}")
        return run if run["state"] == wanted else {}

    wait_for(lambda: state("waiting"), "the run never waited for the student")
    shell = library_lab.shell("mallory", interactive=False)
    typed = subprocess.run(shell.argv, input=(DATA / "telnet-demo.sh").read_text(),
                           env={**os.environ, **shell.env}, capture_output=True, text=True,
                           timeout=60)
    assert typed.returncode == 0, typed.stdout + typed.stderr
    local_lab.request("POST", f"/runs/{run_id}/continue")
    report = wait_for(lambda: state("done"), "the run never ended")["report"]
    failed = [f"{c['name']}: {c['output']}" for c in report["checks"] if not c["passed"]]
    assert not failed, "\n".join(failed)
