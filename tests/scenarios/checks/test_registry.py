# The registry is the one list of check types: the Scenario's union, its JSON Schema,
# the format's documentation and the loader's messages all follow it; every type has
# tests here that make it fail; feedback and errors reach the check's output.
from __future__ import annotations

from pathlib import Path

import pytest

from labctl.scenarios import (
    REGISTRY,
    Evidence,
    ScenarioError,
    evaluate,
    load_scenario,
    parse_scenario,
)
from labctl.scenarios import schema as scenario_format
from labctl.scenarios.schema import scenario_json_schema
from tests.conftest import DATA

HERE = Path(__file__).resolve().parent
BASE = "name: t\nsteps: [{send: {to: bob@hamburger.edu, subject: s, body: b}}]\nchecks:\n"


def test_the_schema_and_the_docs_list_every_registered_type() -> None:
    schema = scenario_json_schema()
    mapping = schema["properties"]["checks"]["items"]["discriminator"]["mapping"]
    assert set(mapping) == set(REGISTRY)
    for name, check_type in REGISTRY.items():
        assert f"- {name}: {check_type.summary}" in (scenario_format.__doc__ or "")
        assert check_type.summary, f"{name} has no docstring"


def test_every_check_type_has_tests_that_make_it_fail() -> None:
    tested = "".join(p.read_text() for p in HERE.parent.rglob("test_*.py"))
    untested = [name for name in REGISTRY if f"type: {name}" not in tested]
    assert untested == []
    assert "not result.passed" in tested


def test_the_correct_lab_scenario_of_the_e2e_tests_uses_every_check_type() -> None:
    scenario = load_scenario(DATA / "scenarios" / "every-check.yaml")
    assert {check.type for check in scenario.checks} == set(REGISTRY)


def test_an_unknown_type_names_the_registered_ones() -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(BASE + "  - {name: c, points: 1, type: starttls}\n", "f.yaml")
    assert caught.value.field == "checks[0].type"
    assert all(name in caught.value.problem for name in REGISTRY)


def test_a_new_types_unknown_field_lists_its_fields() -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(BASE + "  - {name: c, points: 1, type: tcp_connections,\n"
                              "     hop: sender-mta -> receiver-mta, count: 1, protcol: SMTP}\n",
                       "f.yaml")
    assert (caught.value.field, caught.value.line) == ("checks[0].protcol", 5)
    assert "(fields: type, name, points, feedback, hop, protocol, count)" in caught.value.problem


def test_who_opened_must_name_a_role_of_its_hop() -> None:
    with pytest.raises(ScenarioError, match=r"checks\[0\]: .*opener mallory is not one of"):
        parse_scenario(BASE + "  - {name: c, points: 1, type: who_opened,\n"
                              "     hop: receiver-ua -> receiver-mta, opener: mallory}\n", "f")


def test_feedback_is_added_for_pass_and_for_fail() -> None:
    scenario = parse_scenario(
        BASE + "  - {name: c, points: 1, type: hop_absent, hop: sender-ua -> receiver-mta,\n"
               "     feedback: {pass: Well done., fail: Send through your own server.}}\n", "f")
    failed = evaluate(scenario.checks[0], Evidence(scenario, []))
    assert failed.output.endswith(" — Send through your own server.")
    assert "capture did not" not in failed.output
    problems = ["capture did not start: OSError"]
    assert evaluate(scenario.checks[0], Evidence(scenario, [], problems=problems)).output \
        .endswith(" — Send through your own server. (run: capture did not start: OSError)")


def test_the_documented_example_is_a_valid_scenario() -> None:
    doc = scenario_format.__doc__ or ""
    example = doc[doc.index("    name: basic-delivery"):doc.index("Every check has")]
    text = "\n".join(line[4:] for line in example.splitlines()).replace("...", "a check")
    scenario = parse_scenario(text, "the format's documentation")
    assert [check.type for check in scenario.checks][-2:] == ["hop_absent", "mailbox_state"]
