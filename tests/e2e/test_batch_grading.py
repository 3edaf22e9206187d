# Batch grading end to end on local labs: `labctl grade CLASS --scenario smtp-client.yaml
# --role sender-ua=... --parallel 2` grades three students' SMTP clients (made from
# tests/data/programs/faulty-smtp-client: a correct one, one ending lines with LF alone,
# one that hangs), each on one of two labs of the grading's own, and writes the class
# summary and each student's report and pcaps. No lab is left running afterwards. The
# labs record with their relays (no root needed) and run with their default options
# (the scenario's setup turns trust_lan on for its runs). Ctrl-C during a run takes
# the labs down and still writes the summary, the interrupted run's row saying so.
from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from labctl import cli
from labctl.backends.local import LocalBackend
from labctl.model import LabInstance
from labctl.model.instance import INSTANCE_ENV
from tests.conftest import TEST_INSTANCE, wait_for

pytestmark = pytest.mark.local
ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "smtp-client.yaml"
FAULTY = ROOT / "tests" / "data" / "programs" / "faulty-smtp-client"
CLASS = {"ana": "correct", "ben": "bare-lf", "cy": "hang"}
CRLF = "Every line ends with CRLF"
TO_ALICES = "Your program speaks SMTP to Alice's server"
RECEIVED = "Bob receives the message"
MAX_SCORE = 11
PREFIX = TEST_INSTANCE.name


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The output folder of one grading of the class, on two labs."""
    root = tmp_path_factory.mktemp("maillab-class")
    for student, fault in CLASS.items():
        (root / "class" / student).mkdir(parents=True)
        shutil.copy(FAULTY / "client.py", root / "class" / student)
        (root / "class" / student / "fault").write_text(fault + "\n")
    scenario = root / "smtp-client-short.yaml"  # the hang is stopped after 3 s
    scenario.write_text(SCENARIO.read_text().replace("timeout_s: 30", "timeout_s: 3"))
    patch = pytest.MonkeyPatch()
    for name, value in {"MAILLAB_CAPTURE_MODE": "relay",
                        "MAILLAB_CAPTURES_DIR": str(root / "captures"),
                        "MAILLAB_PROJECT_DIR": str(root / "project"),
                        INSTANCE_ENV: PREFIX}.items():
        patch.setenv(name, value)
    try:
        status = cli.main(["--backend", "local", "--lab", PREFIX, "grade", str(root / "class"),
                           "--scenario", str(scenario), "--parallel", "2",
                           "--role", "sender-ua=python3 client.py $(cat fault)",
                           "--out", str(root / "grades")])
    finally:
        patch.undo()
    assert status == 0
    return root


def summary_rows(graded: Path) -> dict[str, dict[str, str]]:
    with (graded / "grades" / "summary.csv").open(newline="") as stream:
        return {row["student"]: row for row in csv.DictReader(stream)}


def test_each_student_gets_the_points_of_what_the_program_did(graded: Path) -> None:
    rows = summary_rows(graded)
    assert list(rows) == ["ana", "ben", "cy"]
    ana, ben, cy = rows["ana"], rows["ben"], rows["cy"]
    assert (ana["score"], ana["max_score"], ana["passed"]) == (str(MAX_SCORE), "11", "true")
    assert (ana["exit_status"], ana["timed_out"], ana["error"]) == ("0", "false", "")
    assert (ben[TO_ALICES], ben[CRLF], ben["passed"]) == ("1", "0", "false")
    assert 0 < int(ben["score"]) < MAX_SCORE
    assert (cy["exit_status"], cy["timed_out"]) == ("", "true")
    assert cy[TO_ALICES] == "0" and cy[RECEIVED] == "0"


def test_the_json_summary_holds_the_same_grades(graded: Path) -> None:
    summary: dict[str, Any] = json.loads((graded / "grades" / "summary.json").read_text())
    rows = summary_rows(graded)
    assert summary["max_score"] == MAX_SCORE
    for submission in summary["submissions"]:
        assert f"{submission['score']:g}" == rows[submission["student"]]["score"]
        assert submission["error"] == "" and submission["run_id"]


def test_each_student_has_a_report_page_and_the_pcaps_it_links(graded: Path) -> None:
    for student in CLASS:
        folder = graded / "grades" / student
        report = json.loads((folder / "report.json").read_text())
        assert f"{report['score']:g}" == summary_rows(graded)[student]["score"]
        page = (folder / "report.html").read_text()
        links = set(re.findall(r'class="pcap" href="([^"]+)"', page))
        assert links and all((folder / name).stat().st_size > 0 for name in links)


def test_no_lab_is_left_running(graded: Path) -> None:
    labs = [LabInstance.named(f"{PREFIX}-{n}") for n in range(1, 6)]
    assert not [lab.name for lab in labs if LocalBackend(instance=lab).is_up()]
    state = graded / "project" / ".maillab"
    assert sorted(p.name for p in state.iterdir())[:1] == [f"local-{PREFIX}-1"]
    assert not list(state.glob("*/pids.json"))


def test_ctrl_c_takes_the_labs_down_and_keeps_the_grades(tmp_path: Path) -> None:
    (tmp_path / "class" / "dora").mkdir(parents=True)
    shutil.copy(FAULTY / "client.py", tmp_path / "class" / "dora")
    prefix = f"{PREFIX}-int"
    env = {**os.environ, "MAILLAB_CAPTURE_MODE": "relay",
           "MAILLAB_CAPTURES_DIR": str(tmp_path / "captures"),
           "MAILLAB_PROJECT_DIR": str(tmp_path / "project"), "PYTHONPATH": str(ROOT)}
    grading = subprocess.Popen(
        [sys.executable, "-m", "labctl.cli", "--backend", "local", "--lab", prefix, "grade",
         str(tmp_path / "class"), "--scenario", str(SCENARIO), "--out", str(tmp_path / "out"),
         "--role", "sender-ua=python3 client.py hang"], env=env, stderr=subprocess.PIPE,
        text=True)
    try:
        lab = LocalBackend(instance=LabInstance.named(f"{prefix}-1"))
        wait_for(lab.is_up, "the grading's lab did not come up", timeout=90)
        grading.send_signal(signal.SIGINT)
        _, errors = grading.communicate(timeout=90)
    finally:
        if grading.poll() is None:
            grading.kill()
    assert grading.returncode == 130, errors
    assert "interrupted: taking the labs down" in errors
    assert not lab.is_up()
    assert not list((tmp_path / "project" / ".maillab").glob("*/pids.json"))
    with (tmp_path / "out" / "summary.csv").open(newline="") as stream:
        (row,) = csv.DictReader(stream)
    assert row["student"] == "dora" and "interrupted" in row["error"]
