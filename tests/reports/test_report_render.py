# Renderers: JSON (the report contract) and the points format (the table: test_table_view.py).
from __future__ import annotations

import json

from labctl.reports import Report, points, render_json
from tests.reports.report_samples import sample_report


def test_render_json_is_the_contract() -> None:
    text = render_json(sample_report())
    assert json.loads(text)["scenario"] == "basic-delivery"
    assert Report.from_json(text) == sample_report()


def test_points() -> None:
    assert (points(2.0), points(0.5), points(0)) == ("2", "0.5", "0")
