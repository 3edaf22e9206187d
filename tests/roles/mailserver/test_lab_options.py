# The mail server reads the lab options from the environment and refuses a bad one.
from __future__ import annotations

from pathlib import Path

import pytest

from labctl.model.options import LabOptions
from roles.mailserver.__main__ import main
from roles.mailserver.settings import MailServerSettings
from tests.conftest import TEST_INSTANCE


def test_settings_carry_the_options_from_the_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILLAB_TRUST_LAN", "on")
    monkeypatch.setenv("MAILLAB_RELAY_CONCURRENCY", "1")
    settings = MailServerSettings.for_role("sender-mta", "local", tmp_path,
                                         instance=TEST_INSTANCE)
    assert settings.options == LabOptions(trust_lan=True, relay_concurrency=1)


def test_a_bad_option_stops_the_server_with_one_line_naming_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_test_instance: object,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("MAILLAB_TRUST_LAN", "perhaps")
    assert main(["--role", "sender-mta", "--runtime", "local", "--data", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "MAILLAB_TRUST_LAN" in err
