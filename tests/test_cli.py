# labctl's command line: bad input is one clear line on stderr and exit status 2,
# before any lab is started (offline analysis: test_cli_analyze.py).
from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from labctl.cli import build_parser, main
from labctl.cli_fetch import fetch_body
from labctl.cli_run import save_run_page
from labctl.model import LabInstance, addressing
from labctl.model.instance import INSTANCE_ENV
from tests.conftest import DATA, PROJECT
from tests.reports.report_samples import sample_report


def test_invalid_scenario_exits_2_with_one_line_naming_file_field_and_problem(
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad = DATA / "scenarios" / "bad-expect.yaml"
    assert main(["--backend", "local", "run", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "bad-expect.yaml" in err and "checks[" in err and "expect" in err


def test_missing_scenario_file_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "no-such-scenario.yaml"]) == 2
    assert "no-such-scenario.yaml" in capsys.readouterr().err


def test_compose_file_command_prints_the_committed_compose_file(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["compose-file"]) == 0
    assert capsys.readouterr().out == (PROJECT / "compose.yaml").read_text()


@pytest.mark.parametrize(("options", "delete"), [([], False), (["--keep"], False),
                                                 (["--delete"], True)])
def test_fetch_keeps_unless_told_to_delete(options: list[str], delete: bool) -> None:
    assert build_parser().parse_args(["fetch", *options]).delete is delete


def test_fetch_keep_and_delete_exclude_each_other(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["fetch", "--keep", "--delete"])
    assert exit_info.value.code == 2
    assert "not allowed with argument --keep" in capsys.readouterr().err


def test_compose_file_renders_an_instance_and_refuses_a_bad_name(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["compose-file", "--instance", "class-a"]) == 0
    assert yaml.safe_load(capsys.readouterr().out)["name"] == "class-a"
    assert main(["compose-file", "--instance", "Class A"]) == 2
    assert "instance name 'Class A'" in capsys.readouterr().err


def test_dns_prints_the_lab_zone_with_the_runtimes_addresses(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["dns", "--runtime", "local"]) == 0
    out = capsys.readouterr().out
    assert "hamburger.edu.\t300\tIN\tMX\t10 mail.hamburger.edu." in out
    assert "mail.hamburger.edu.\t300\tIN\tA\t127.77.2.26" in out
    assert 'crepes.fr.\t300\tIN\tTXT\t"v=spf1 mx -all"' in out


@pytest.mark.parametrize("where", ["before", "after"])
def test_lab_option_picks_the_instance_before_or_after_the_command(
    where: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(INSTANCE_ENV, raising=False)
    monkeypatch.setitem(os.environ, INSTANCE_ENV, "")  # restored after the test
    command = ["dns", "--runtime", "compose"]
    argv = ["--lab", "class-a", *command] if where == "before" else [*command, "--lab", "class-a"]
    assert main(argv) == 0
    address = addressing("compose", instance=LabInstance.named("class-a")).address(
        "receiver-mta", "internet")
    assert f"mail.hamburger.edu.\t300\tIN\tA\t{address}" in capsys.readouterr().out
    assert address != addressing("compose").address("receiver-mta", "internet")


def test_a_bad_lab_name_exits_2_saying_what_names_may_be(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--lab", "Class A", "status"]) == 2
    assert "--lab: instance name 'Class A': use 1-40 lowercase" in capsys.readouterr().err


def test_shell_names_an_unknown_role_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["shell", "trudy"])
    assert exited.value.code == 2
    assert "trudy" in capsys.readouterr().err


@pytest.mark.parametrize("partial", [["0", "100"], ["0.100"]])
def test_fetch_imap_options_make_the_agents_request(partial: list[str]) -> None:
    args = build_parser().parse_args([
        "fetch", "--protocol", "imap", "--folder", "Work", "--part", "1.2", "--partial",
        *partial, "--move-to", "Archive", "--idle", "5", "--list-folders"])
    assert fetch_body(args) == {
        "role": "receiver-ua", "protocol": "imap", "folder": "Work", "part": "1.2",
        "partial": [0, 100], "move_to": "Archive", "idle_seconds": 5.0, "list_folders": True}
    assert fetch_body(build_parser().parse_args(["fetch"])) == {
        "role": "receiver-ua", "protocol": "pop3"}


@pytest.mark.parametrize(("options", "problem"), [
    (["--part", "1"], "labctl fetch: part: only with protocol imap, not pop3"),
    (["--protocol", "imap", "--part", "0"], "labctl fetch: part: String should match"),
])
def test_fetch_options_the_protocol_cannot_honour_exit_2_naming_them(
    options: list[str], problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        fetch_body(build_parser().parse_args(["fetch", *options]))
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.startswith(problem)


def test_fetch_partial_needs_two_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["fetch", "--protocol", "imap", "--partial", "0.x"])
    assert exit_info.value.code == 2
    assert "is not START.COUNT" in capsys.readouterr().err


def test_send_via_webmail_or_smtp() -> None:
    assert build_parser().parse_args(["send"]).via == "smtp"
    assert build_parser().parse_args(["send", "--via", "webmail"]).via == "webmail"


def test_report_html_goes_next_to_the_runs_pcaps(tmp_path: Path) -> None:
    report = sample_report()
    hops = [hop.model_copy(update={"pcap": str(tmp_path / Path(hop.pcap).name)})
            for hop in report.hops]
    page = save_run_page(report.model_copy(update={"hops": hops}), "run-1", "")
    assert page == tmp_path / "run-1.html"
    assert 'href="alice-lan.pcap"' in page.read_text()
    assert save_run_page(report, "run-1", str(tmp_path / "x.html")) == tmp_path / "x.html"


def test_server_takes_a_mail_server_down_or_up_and_refuses_other_roles(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = build_parser().parse_args(["server", "receiver-mta", "down"])
    assert (args.role, args.state) == ("receiver-mta", "down")
    assert build_parser().parse_args(["server", "sender-mta"]).state is None
    with pytest.raises(SystemExit):
        build_parser().parse_args(["server", "receiver-ua", "down"])
    assert "invalid choice: 'receiver-ua'" in capsys.readouterr().err
