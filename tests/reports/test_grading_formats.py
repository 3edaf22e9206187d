# The report in graders' formats: JUnit XML read back by an XML parser, and Gradescope's
# results.json checked against the fields its autograder specification names.
from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree

import pytest

from labctl.cli import main
from labctl.reports import CheckResult, Report
from labctl.reports.formats import REPORT_FORMATS, render_report
from labctl.reports.grading_formats import render_gradescope, render_junit
from labctl.reports.model import ProgramReport

from .report_samples import sample_hops, sample_report


def test_junit_has_one_case_per_check_with_points_and_failures() -> None:
    suite = ElementTree.fromstring(render_junit(sample_report()).encode())
    assert suite.tag == "testsuite" and suite.get("name") == "basic-delivery"
    assert (suite.get("tests"), suite.get("failures")) == ("2", "1")
    suite_points = {p.get("name"): p.get("value") for p in suite.iterfind("properties/property")}
    assert suite_points == {"backend": "local", "points": "1", "max_points": "3.5"}
    passed, failed = suite.findall("testcase")
    assert passed.get("name") == "submission" and passed.find("failure") is None
    failure = failed.find("failure")
    assert failure is not None and failure.get("message") == "missing QUIT"
    assert {p.get("name"): p.get("value") for p in failed.iterfind("properties/property")} == {
        "points": "0", "max_points": "2.5"}
    hops = suite.findtext("system-out") or ""
    assert "sender-ua -> sender-mta on alice-lan: SMTP" in hops


def test_junit_stays_well_formed_whatever_a_check_says() -> None:
    hostile = "line one <b>&amp;</b> ]]>\x00\x07\x1b[31m \ud800 end\nline two"
    checks = [CheckResult(name="dialog \x01<x>", passed=False, score=0, max_score=1,
                          output=hostile)]
    document = render_junit(Report.build("odd\x02", "local", checks, sample_hops()))
    suite = ElementTree.fromstring(document.encode("utf-8", "surrogatepass"))
    case = suite.find("testcase")
    assert case is not None and case.get("name") == "dialog \\x01<x>"
    failure = case.find("failure")
    assert failure is not None and failure.get("message") == (
        "line one <b>&amp;</b> ]]>\\x00\\x07\\x1b[31m \\ud800 end")
    assert (failure.text or "").endswith("\nline two")


def test_gradescope_results_follow_the_autograder_specification() -> None:
    results = json.loads(render_gradescope(sample_report()))
    assert results["score"] == 1 and results["visibility"] == "visible"
    assert "Scenario basic-delivery on the local lab" in results["output"]
    assert [(t["name"], t["score"], t["max_score"], t["status"]) for t in results["tests"]] == [
        ("submission", 1, 1, "passed"), ("dialog", 0, 2.5, "failed")]
    assert results["tests"][1]["output"] == "missing QUIT"
    assert {t["number"] for t in results["tests"]} == {"1", "2"}


def test_a_report_without_checks_or_traffic_renders_in_every_format() -> None:
    empty = Report.build("empty", "compose", [], [])
    for name in REPORT_FORMATS:
        assert render_report(empty, name).endswith("\n")
    assert "no traffic captured" in render_junit(empty)
    assert json.loads(render_gradescope(empty))["tests"] == []


@pytest.mark.parametrize("command", [["run", "scenario.yaml"], ["report", "some-run"]])
def test_run_and_report_offer_every_format(
        command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as usage:
        main([*command, "--format", "no-such-format"])
    assert usage.value.code == 2
    error = capsys.readouterr().err
    assert all(f"'{name}'" in error for name in REPORT_FORMATS), error


def test_a_student_programs_ending_and_output_go_to_both_formats() -> None:
    report = sample_report().model_copy(update={"programs": [
        ProgramReport(role="sender-ua", command="python3 client.py", exit_status=None,
                      timed_out=True, duration_s=30.2, output="S: 220 hi\nthinking"),
        ProgramReport(role="mallory", command="./spoof", exit_status=0, timed_out=False,
                      duration_s=0.5, output=""),
    ]})
    expected = ["program replacing sender-ua (python3 client.py) was stopped at the step's "
                "timeout after 30.2s; its output:", "  S: 220 hi", "  thinking",
                "program replacing mallory (./spoof) exited with status 0 after 0.5s; "
                "no output"]
    suite = ElementTree.fromstring(render_junit(report))
    assert suite.findtext("system-out", "").splitlines()[-4:] == expected
    assert json.loads(render_gradescope(report))["output"].splitlines()[-4:] == expected
