# `labctl analyze` on captures without a lab: hosts named by address, by a roles file
# or by the lab's plan; table, JSON, transcript and HTML; bad files (not a capture,
# truncated, unknown link type, a bad roles file) are one clear line and a non-zero
# exit status, the readable part still written and marked incomplete.
from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from labctl.cli import main
from labctl.reports import HopReport
from tests.conftest import DATA

PCAPS = DATA / "pcaps"
SYNTH = PCAPS / "smtp_synth.pcap"
ROLES = "roles:\n  sender-mta: 127.77.2.25\n  receiver-mta: [127.77.2.26, '::1']\n"


def analyze(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(["analyze", *argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture
def roles_file(tmp_path: Path) -> Path:
    path = tmp_path / "roles.yaml"
    path.write_text(ROLES)
    return path


def test_without_roles_hosts_are_named_by_address(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = analyze(capsys, str(SYNTH))
    assert status == 0
    assert "127.77.2.25 -> 127.77.2.26" in out and "SMTP/tcp" in out
    assert "receiver-mta" not in out


def test_transcript_shows_the_dialog(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = analyze(capsys, str(SYNTH), "--format", "transcript")
    assert status == 0
    assert "    S: 220" in out and "    C: QUIT" in out


def test_roles_file_names_the_hops(capsys: pytest.CaptureFixture[str], roles_file: Path) -> None:
    status, out, _ = analyze(capsys, str(SYNTH), "--roles", str(roles_file), "--format", "json")
    assert status == 0
    hops = [HopReport.model_validate(hop) for hop in json.loads(out)]
    assert [(h.client_role, h.server_role) for h in hops] == [("sender-mta", "receiver-mta")]
    assert hops[0].conversations[0].hop == "sender-mta -> receiver-mta"
    assert hops[0].protocols == ["SMTP"] and not hops[0].incomplete


def test_the_lab_plan_is_still_a_way_to_name_hosts(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = analyze(capsys, str(PCAPS / "internet_mixed.pcapng"), "--runtime", "local")
    assert status == 0
    assert "sender-mta -> receiver-mta" in out and "127.77.2.99 -> receiver-mta" in out


@pytest.mark.parametrize(("roles", "where"), [
    ("roles:\n  sender-mta: 127.77.2.25\ncolour: red\n", "roles.yaml:3: colour: unknown field"),
    ("roles:\n  sender-mta: 127.77.2.25\n  receiver-mta: not-an-ip\n",
     "roles.yaml:3: roles.receiver-mta"),
    ("roles: [a, b]\n", "roles.yaml:1: roles:"),
    ("roles:\n  a: 127.0.0.1\nnetworks:\n  lan: [a, b]\n", "unknown role(s) b"),
    ("roles: {a: [\n", "YAML syntax error"),
    ("- just a list\n", "roles.yaml:1: a roles file is a mapping"),
])
def test_a_bad_roles_file_is_one_line_naming_file_line_and_field(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, roles: str, where: str
) -> None:
    (tmp_path / "roles.yaml").write_text(roles)
    status, out, err = analyze(capsys, str(SYNTH), "--roles", str(tmp_path / "roles.yaml"))
    assert status == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and where in err, err


def test_a_file_that_is_not_a_capture_is_one_line_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junk = tmp_path / "junk.pcap"
    junk.write_bytes(b"this is not a capture file at all")
    status, out, err = analyze(capsys, str(junk), str(SYNTH))
    assert status == 1
    assert len(err.strip().splitlines()) == 1 and "junk.pcap" in err
    assert "Traceback" not in err and "SMTP" in out  # the good file is still analysed


def test_a_truncated_capture_is_reported_incomplete_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(SYNTH.read_bytes()[:-30])
    status, out, err = analyze(capsys, str(cut), "--format", "json")
    assert status == 1 and "truncated" in err
    hops = [HopReport.model_validate(hop) for hop in json.loads(out)]
    assert hops[-1].incomplete and any("truncated" in p for p in hops[-1].problems)
    assert hops[0].conversations  # what could be read is there
    status, out, _ = analyze(capsys, str(cut))
    assert status == 1 and "INCOMPLETE" in out


def test_an_unknown_link_type_is_said_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = bytearray(SYNTH.read_bytes())
    struct.pack_into("<I" if data[:4] == b"\xd4\xc3\xb2\xa1" else ">I", data, 20, 147)
    odd = tmp_path / "odd.pcap"
    odd.write_bytes(bytes(data))
    status, out, err = analyze(capsys, str(odd))
    assert status == 1 and "Traceback" not in err
    assert "link type 147" in out and "(no conversations)" in out


def test_output_file_and_html(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                              roles_file: Path) -> None:
    page = tmp_path / "analysis.html"
    status, out, _ = analyze(capsys, str(SYNTH), "--roles", str(roles_file), "--format", "html",
                             "--output", str(page))
    assert status == 0 and out == ""
    html = page.read_text()
    assert html.startswith("<!DOCTYPE html>") and 'href="smtp_synth.pcap"' in html
    assert 'data-lane="sender-mta"' in html and "S: 220" in html


def test_pipelined_commands_are_in_the_json_and_the_transcript(
        capsys: pytest.CaptureFixture[str]) -> None:
    capture = PCAPS / "handmade" / "pop3_pipelined_not_offered.pcap"
    status, out, _ = analyze(capsys, str(capture), "--format", "json")
    [conversation] = [c for hop in json.loads(out) for c in hop["conversations"]]
    assert status == 0 and [p["command"] for p in conversation["pipelined_commands"]] == [
        "PASS", "QUIT"]
    status, out, _ = analyze(capsys, str(capture), "--format", "transcript")
    assert "pipelined: PASS sent before the reply to USER (PIPELINING not offered)" in out
