# Renderers: the terminal table (hops, checks with points, score) and JSON.
from __future__ import annotations

import json

from labctl.reports import Report, points, render_json, render_table
from tests.reports.report_samples import sample_report


def test_table_lists_hops_checks_and_score() -> None:
    table = render_table(sample_report())
    lines = table.splitlines()
    assert lines[0] == "Scenario basic-delivery (backend local)"
    assert "  sender-ua -> sender-mta  alice-lan  SMTP  pcap captures/alice-lan.pcap" in lines
    assert "  ? -> receiver-mta" in table
    assert "  PASS  1/1    submission" in lines
    assert "  FAIL  0/2.5  dialog" in lines
    assert "        missing QUIT" in lines
    assert lines[-1] == "Score 1/3.5  FAILED"


def test_table_without_traffic() -> None:
    table = render_table(Report.build("x", "local", [], []))
    assert "(no traffic captured)" in table
    assert table.rstrip().endswith("Score 0/0  FAILED")


def test_render_json_is_the_contract() -> None:
    text = render_json(sample_report())
    assert json.loads(text)["scenario"] == "basic-delivery"
    assert Report.from_json(text) == sample_report()


def test_points() -> None:
    assert (points(2.0), points(0.5), points(0)) == ("2", "0.5", "0")
