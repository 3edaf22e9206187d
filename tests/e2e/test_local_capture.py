# Live capture on the local lab, through the CLI, in both capture modes: start, many
# messages, stop, list, download; every message is in the pcap of every link it crossed
# and no packet was dropped; a capture with a small limit says it stopped at the limit.
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from labctl import cli
from labctl.analysis.packet_decode import decode_packets
from labctl.analysis.pcap_reader import read_capture
from labctl.client import ControllerClient
from labctl.model import INTERNET
from tests.conftest import TEST_INSTANCE
from tests.e2e.local_labs import capture_modes, running_local_lab, wait_delivered

pytestmark = pytest.mark.local
MESSAGES = 25  # back to back: more than any scenario sends


@pytest.fixture(scope="module", params=capture_modes())
def lab(request: pytest.FixtureRequest,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControllerClient]:
    with running_local_lab(tmp_path_factory.mktemp("maillab-capture"), request.param) as backend:
        yield ControllerClient(backend.controller_url())


def _labctl(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[str, str]:
    assert cli.main([argv[0], "--backend", "local", *argv[1:]]) == 0
    captured = capsys.readouterr()
    return captured.out, captured.err


def _send(lab: ControllerClient, subjects: list[str]) -> None:
    ids = [lab.request("POST", "/messages", {"to": "bob@hamburger.edu", "subject": s,
                                             "body": f"{s}\n"})["message_id"]
           for s in subjects]
    for message_id in ids:
        wait_delivered(lab, message_id)


def _payload(pcap: Path) -> bytes:
    return b"".join(p.payload for p in decode_packets(read_capture(pcap).packets).packets)


def test_cli_capture_holds_every_message_on_every_link(
    lab: ControllerClient, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MAILLAB_INSTANCE", TEST_INSTANCE.name)
    capture_id = _labctl(capsys, "capture", "start")[0].strip()
    subjects = [f"capture check {i:03d}" for i in range(MESSAGES)]
    _send(lab, subjects)
    out, err = _labctl(capsys, "capture", "stop", capture_id)
    assert err == ""  # no note: nothing dropped, no limit reached
    assert INTERNET in out and "alice-lan" in out
    assert f"{capture_id}  stopped" in _labctl(capsys, "capture", "list")[0]
    out, _ = _labctl(capsys, "capture", "download", capture_id, "-o", str(tmp_path))
    for network in ("alice-lan", INTERNET):
        payload = _payload(tmp_path / f"{network}.pcap")
        missing = [s for s in subjects if f"Subject: {s}".encode() not in payload]
        assert missing == [], f"{network}: {missing}"


def test_cli_capture_with_a_small_limit_says_it_stopped_there(
    lab: ControllerClient, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MAILLAB_INSTANCE", TEST_INSTANCE.name)
    capture_id = _labctl(capsys, "capture", "start", "--limit-mb", "0.004")[0].strip()
    _send(lab, [f"limit check {i}" for i in range(3)])
    _, err = _labctl(capsys, "capture", "stop", capture_id)
    assert f"capture of {INTERNET} stopped at the 0.004 MB limit" in err
    _labctl(capsys, "capture", "download", capture_id, INTERNET, "-o", str(tmp_path))
    pcap = tmp_path / f"{INTERNET}.pcap"
    assert pcap.stat().st_size <= 4000 and read_capture(pcap).problems == []


def test_labctl_run_names_its_run_and_report_writes_its_html_page(
    lab: ControllerClient, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MAILLAB_INSTANCE", TEST_INSTANCE.name)
    scenario = Path(__file__).resolve().parents[2] / "scenarios" / "basic-delivery.yaml"
    out, err = _labctl(capsys, "run", str(scenario))
    assert "Score 7/7  PASSED" in out
    [run_id] = [line.split()[2].rstrip(":") for line in err.splitlines()
                if line.startswith("labctl: run ")]
    page = tmp_path / "run.html"
    _labctl(capsys, "report", run_id, "--html", str(page))
    html = page.read_text()
    assert "sender-mta" in html and "SMTP" in html and "<script" not in html
