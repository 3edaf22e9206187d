# A scenario's setup sets lab options for its run: same names, types and bounds as the
# lab's own (LabOptions), each optional; a bad one is a ScenarioError naming its field.
from __future__ import annotations

import json

import pytest

from labctl.cli import main
from labctl.model.options import LabOptions
from labctl.scenarios import ScenarioError, parse_scenario
from labctl.scenarios import schema as schema_module
from labctl.scenarios.schema import Scenario

STEPS_AND_CHECKS = ("steps: [{send: {to: bob@hamburger.edu, subject: s, body: b}}]\n"
                    "checks: [{name: c, points: 1, type: smtp_dialog}]\n")


def with_setup(setup: str) -> Scenario:
    """A one-step scenario with `setup` (YAML flow mapping)."""
    return parse_scenario(f"name: x\nsetup: {setup}\n{STEPS_AND_CHECKS}", "inline.yaml")


def test_unset_options_are_the_labs_own() -> None:
    setup = with_setup("{fetch_protocol: imap}").setup
    assert setup.option_values() == {}
    assert LabOptions(trust_lan=True).changed_by(setup) == LabOptions(trust_lan=True)


def test_the_options_set_are_read_with_the_labs_types() -> None:
    setup = with_setup("{spf: junk, trust_lan: yes, relay_concurrency: 1, "
                       "sender_login_match: false}").setup
    assert setup.option_values() == {"spf": "junk", "trust_lan": True, "relay_concurrency": 1,
                                     "sender_login_match": False}
    assert setup.fetch_protocol == "pop3"


def test_a_bare_off_is_the_spf_mode_off() -> None:
    assert with_setup("{spf: off}").setup.option_values() == {"spf": "off"}


@pytest.mark.parametrize(("setup", "field", "said"), [
    ("{spf: maybe}", "setup.spf", "'off', 'junk' or 'reject'"),
    ("{relay_concurrency: 0}", "setup.relay_concurrency", "greater than or equal to 1"),
    ("{relay_concurrency: 101}", "setup.relay_concurrency", "less than or equal to 100"),
    ("{trust_lan: perhaps}", "setup.trust_lan", "'perhaps'"),
    ("{spf: true}", "setup.spf", "'off', 'junk' or 'reject'"),
    ("{spf_mode: junk}", "setup.spf_mode", "relay_concurrency"),
])
def test_a_bad_option_names_its_field(setup: str, field: str, said: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        with_setup(setup)
    assert caught.value.field == field
    assert said in caught.value.problem


def test_the_schema_documents_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scenario", "schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    setup = schema["$defs"]["Setup"]["properties"]
    assert set(LabOptions.model_fields) < set(setup)
    concurrency = setup["relay_concurrency"]["anyOf"][0]
    assert (concurrency["minimum"], concurrency["maximum"]) == (1, 100)
    assert all("unset: the lab's own" in setup[name]["description"]
               for name in LabOptions.model_fields)
    documented = schema_module.__doc__ or ""
    assert all(f"\n      {name}: " in documented for name in LabOptions.model_fields)
