# The scenario library (scenarios/*.yaml) on a correct local lab: every scenario runs end
# to end through the controller and every one of its checks passes (an exercise, nobody
# attending, through its stand-in; and once attended, typed in mallory's shell). The lab records
# with tcpdump (the MX lookup is a DNS packet, which a recording relay does not see) and
# runs with one relay connection per destination, as persistent-connection needs; the
# scenarios that need other lab options (LAB_OPTIONS) run on a lab of their own.
from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from labctl.backends.local import LocalBackend
from labctl.client import ControllerClient
from labctl.scenarios import load_scenario
from tests.conftest import DATA, second_test_instance, wait_for
from tests.e2e.local_labs import running_local_lab
from tests.peers.tools import require_tool

pytestmark = pytest.mark.local
LIBRARY = Path(__file__).resolve().parents[2] / "scenarios"
# Scenarios that need lab options other than the library lab's, and those options.
LAB_OPTIONS = {"spoofing-spf-junk": {"MAILLAB_SPF": "junk"}}
SCENARIOS = sorted(p for p in LIBRARY.glob("*.yaml") if p.stem not in LAB_OPTIONS)


@pytest.fixture(scope="module")
def library_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBackend]:
    options = {"MAILLAB_RELAY_CONCURRENCY": "1"}
    with running_local_lab(tmp_path_factory.mktemp("maillab-library"), "tcpdump",
                           options) as lab:
        yield lab


@pytest.fixture(scope="module")
def local_lab(library_lab: LocalBackend) -> ControllerClient:
    return ControllerClient(library_lab.controller_url())


@pytest.fixture(scope="module", params=sorted(LAB_OPTIONS))
def lab_with_options(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                     ) -> Iterator[tuple[ControllerClient, Path]]:
    name = request.param  # another instance: the library lab of this module may be up
    with running_local_lab(tmp_path_factory.mktemp(name), "tcpdump", LAB_OPTIONS[name],
                           instance=second_test_instance()) as lab:
        yield ControllerClient(lab.controller_url()), LIBRARY / f"{name}.yaml"


def run(lab: ControllerClient, path: Path) -> dict[str, object]:
    """Run the scenario file at `path` through the controller; its JSON report."""
    body = {"scenario": path.read_text(), "source": path.name}
    report: dict[str, object] = lab.request("POST", "/runs", body)["report"]
    return report


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_library_scenario_passes_on_a_correct_lab(local_lab: ControllerClient,
                                                  path: Path) -> None:
    assert_passes(local_lab, path)


def test_library_scenario_passes_on_a_lab_with_its_options(
        lab_with_options: tuple[ControllerClient, Path]) -> None:
    assert_passes(*lab_with_options)


def assert_passes(lab: ControllerClient, path: Path) -> None:
    """The scenario at `path` gets every point on `lab`."""
    load_scenario(path)  # valid, or the test says why
    report = run(lab, path)
    checks = report["checks"]
    assert isinstance(checks, list)
    failed = [f"{c['name']}: {c['output']}" for c in checks if not c["passed"]]
    assert not failed, "\n".join(failed)
    assert report["score"] == report["max_score"]


def test_the_lab_is_left_up_after_a_run_that_took_a_server_down(
        local_lab: ControllerClient) -> None:
    run(local_lab, LIBRARY / "receiver-down.yaml")
    for role in ("sender-mta", "receiver-mta"):
        assert local_lab.request("GET", f"/servers/{role}/service") == {"up": True}



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
