# The scenario library (scenarios/*.yaml) on a correct local lab: every scenario runs end
# to end through the controller and every one of its checks passes. The lab records
# with tcpdump (the MX lookup is a DNS packet, which a recording relay does not see) and
# runs with one relay connection per destination, as persistent-connection needs; the
# scenarios that need other lab options (LAB_OPTIONS) run on a lab of their own.
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from labctl.cli_programs import programs_for_run
from labctl.client import ControllerClient
from labctl.scenarios import load_scenario
from tests.conftest import second_test_instance
from tests.e2e.local_labs import running_local_lab

pytestmark = pytest.mark.local
LIBRARY = Path(__file__).resolve().parents[2] / "scenarios"
# Scenarios that need lab options other than the library lab's, and those options.
LAB_OPTIONS = {"spoofing-spf-junk": {"MAILLAB_SPF": "junk"}}
SCENARIOS = sorted(p for p in LIBRARY.glob("*.yaml") if p.stem not in LAB_OPTIONS)


@pytest.fixture(scope="module")
def local_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControllerClient]:
    options = {"MAILLAB_RELAY_CONCURRENCY": "1"}
    with running_local_lab(tmp_path_factory.mktemp("maillab-library"), "tcpdump",
                           options) as lab:
        yield ControllerClient(lab.controller_url())


@pytest.fixture(scope="module", params=sorted(LAB_OPTIONS))
def lab_with_options(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                     ) -> Iterator[tuple[ControllerClient, Path]]:
    name = request.param  # another instance: the library lab of this module may be up
    with running_local_lab(tmp_path_factory.mktemp(name), "tcpdump", LAB_OPTIONS[name],
                           instance=second_test_instance()) as lab:
        yield ControllerClient(lab.controller_url()), LIBRARY / f"{name}.yaml"


def run(lab: ControllerClient, path: Path) -> dict[str, object]:
    """Run the scenario file at `path` through the controller; its JSON report."""
    # a program step runs the scenario's reference program, as `labctl run` sends it
    programs = programs_for_run(load_scenario(path), path)
    body = {"scenario": path.read_text(), "source": path.name, "programs": programs}
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

