# The scenario library (scenarios/*.yaml) on a correct local lab: every scenario runs end
# to end through the controller and every one of its checks passes. The lab records
# with tcpdump (the MX lookup is a DNS packet, which a recording relay does not see) and
# runs with the default lab options: a scenario that needs others (SPF in junk mode, one
# relay connection per destination) sets them in its setup, and the run after it goes
# by the lab's own again.
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from labctl.cli_programs import programs_for_run
from labctl.client import ControllerClient
from labctl.scenarios import load_scenario
from tests.e2e.local_labs import running_local_lab

pytestmark = pytest.mark.local
LIBRARY = Path(__file__).resolve().parents[2] / "scenarios"
SCENARIOS = sorted(LIBRARY.glob("*.yaml"))


@pytest.fixture(scope="module")
def local_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControllerClient]:
    with running_local_lab(tmp_path_factory.mktemp("maillab-library"), "tcpdump") as lab:
        yield ControllerClient(lab.controller_url())


def run(lab: ControllerClient, path: Path, text: str | None = None) -> dict[str, object]:
    """Run the scenario file at `path` (or `text`, named after it) through the
    controller; its JSON report. A program step runs the scenario's reference program,
    as `labctl run` sends it."""
    programs = programs_for_run(load_scenario(path), path)
    body = {"scenario": path.read_text() if text is None else text, "source": path.name,
            "programs": programs}
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
