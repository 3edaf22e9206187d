# GET /runs/{id}/report.html and the pcaps beside it: the run's page, escaped, with
# relative pcap links the controller answers.
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from labctl.capture.manager import CaptureSession
from labctl.controller.app import create_app
from labctl.controller.settings import ControllerSettings
from labctl.model import Runtime
from labctl.reports import Report
from tests.conftest import TEST_INSTANCE
from tests.reports.report_samples import sample_report


@pytest.fixture
def api(tmp_path: Path) -> Iterator[TestClient]:
    settings = ControllerSettings(runtime=Runtime.LOCAL, instance=TEST_INSTANCE.name,
                                  captures_dir=tmp_path, capture_mode="tcpdump")
    with TestClient(create_app(settings)) as client:
        yield client


def test_the_controller_serves_a_runs_page_and_its_pcaps(api: TestClient, tmp_path: Path) -> None:
    state = api.app.state.maillab  # type: ignore[attr-defined]
    pcap = tmp_path / "cap-1" / "alice-lan.pcap"
    pcap.parent.mkdir()
    pcap.write_bytes(b"pcap bytes")
    state.captures.sessions["cap-1"] = CaptureSession("cap-1", pcap.parent, 0.0, None,
                                                      limit=10**6, pcaps={"alice-lan": pcap})
    report = sample_report()
    hops = [report.hops[0].model_copy(update={"pcap": state.captures.public_path(pcap)}),
            *report.hops[1:]]
    state.runs["run-1"] = Report.model_validate(
        {**report.model_dump(mode="json"), "hops": [h.model_dump(mode="json") for h in hops]}
    ).model_dump(mode="json")
    page = api.get("/runs/run-1/report.html")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'href="alice-lan.pcap"' in page.text and "&lt;script&gt;" in page.text
    assert api.get("/runs/run-1/alice-lan.pcap").content == b"pcap bytes"
    assert api.get("/runs/run-1/internet.pcap").status_code == 404
    assert api.get("/runs/run-2/report.html").status_code == 404
