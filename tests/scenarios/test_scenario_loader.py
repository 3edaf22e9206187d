# Loading scenario files: valid ones become Scenario, every problem one ScenarioError line.
from __future__ import annotations

from pathlib import Path

import pytest

from labctl.scenarios import ScenarioError, load_scenario, parse_scenario
from labctl.scenarios.checks.hops import HopProtocolCheck
from labctl.scenarios.schema import STEP_KEYS, FetchStep, SendStep

REPO = Path(__file__).resolve().parents[2]


def test_basic_delivery_scenario_loads() -> None:
    scenario = load_scenario(REPO / "scenarios" / "basic-delivery.yaml")
    assert scenario.name == "basic-delivery"
    assert [s.kind for s in scenario.steps] == ["send", "wait_delivered", "fetch"]
    send = scenario.steps[0].action
    assert isinstance(send, SendStep)
    assert (send.from_, send.to) == ("sender-ua", "bob@hamburger.edu")
    hops = [c.hop for c in scenario.checks if isinstance(c, HopProtocolCheck)]
    assert hops == [
        "sender-ua -> sender-mta",
        "sender-mta -> receiver-mta",
        "receiver-ua -> receiver-mta",
    ]
    assert [c.type for c in scenario.checks][-2:] == ["smtp_dialog", "message_received"]
    assert sum(c.points for c in scenario.checks) == 7


def test_defaults_and_normalization(data_dir: Path) -> None:
    scenario = load_scenario(data_dir / "minimal.yaml")
    send = scenario.steps[0].action
    assert isinstance(send, SendStep) and send.from_ == "sender-ua" and send.headers == {}
    check = scenario.checks[0]
    assert isinstance(check, HopProtocolCheck)
    assert (check.hop, check.expect) == ("sender-ua -> sender-mta", "SMTP")


def test_fetch_protocol_defaults_to_setup() -> None:
    scenario = parse_scenario(
        "name: x\nsetup: {fetch_protocol: IMAP}\n"
        "steps: [{send: {to: bob@hamburger.edu, subject: s, body: b}}, {fetch: {}}]\n"
        "checks: [{name: c, points: 1, type: message_received}]\n",
        "inline",
    )
    fetch = scenario.steps[1].action
    assert isinstance(fetch, FetchStep)
    assert (fetch.role, scenario.fetch_protocol(fetch)) == ("receiver-ua", "imap")


def test_json_text_is_accepted() -> None:
    text = (
        '{"name": "j", "steps": [{"send": {"to": "bob@hamburger.edu", "subject": "s",'
        ' "body": "b"}}], "checks": [{"name": "c", "points": 1, "type": "smtp_dialog"}]}'
    )
    assert parse_scenario(text, "POST /scenarios").checks[0].type == "smtp_dialog"


@pytest.mark.parametrize(
    ("file", "expected"),
    [
        ("broken-syntax.yaml", ":7: YAML syntax error: expected ',' or ']'"),
        ("unknown-field.yaml", ":9: steps[1].wait_delivered.timout_s: unknown field"),
        ("wrong-type.yaml", ":7: checks[1].points: "),
        ("bad-expect.yaml", ":11: checks[2].expect: Input should be 'SMTP', 'POP3'"),
        ("unknown-role.yaml", ":4: steps[0].send.from: unknown user agent role 'mallory'"),
        ("unknown-hop.yaml", ":8: checks[0].hop: unknown hop 'sender-ua -> receiver-mta'"),
        ("unknown-check-type.yaml", ":7: checks[0].type: unknown check type 'starttls'"),
        ("two-actions-in-a-step.yaml", ":3: steps[0]: a step has exactly one of the keys"),
        ("wait-before-send.yaml", ":3: steps[0].wait_delivered.to: no earlier send step"),
        ("received-without-fetch.yaml", ":5: checks[0].role: no fetch step by receiver-ua"),
        ("of-step-not-a-send.yaml", ":6: checks[0].of_step: steps[1] is not a send step"),
        ("not-a-mapping.yaml", ":1: a scenario is a mapping with name, steps and checks"),
    ],
)
def test_broken_files_name_file_line_field_and_problem(
    data_dir: Path, file: str, expected: str
) -> None:
    path = data_dir / file
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    assert expected in message


def test_unknown_field_lists_the_allowed_fields(data_dir: Path) -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(data_dir / "unknown-field.yaml")
    assert caught.value.field == "steps[1].wait_delivered.timout_s"
    assert "(fields: to, timeout_s)" in caught.value.problem


def test_wrong_type_names_the_value(data_dir: Path) -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(data_dir / "wrong-type.yaml")
    assert caught.value.field == "checks[1].points"
    assert "'lots'" in caught.value.problem and caught.value.line == 7


def test_syntax_error_names_where_the_construct_started(data_dir: Path) -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(data_dir / "broken-syntax.yaml")
    assert "(while parsing a flow sequence started on line 6)" in str(caught.value)


def test_missing_file() -> None:
    with pytest.raises(ScenarioError, match=r"^no/such/file\.yaml: cannot read the file: "):
        load_scenario("no/such/file.yaml")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "request:1: a scenario is a mapping with name, steps and checks, got nothing"),
        ("name: x\nsteps: []\nchecks: []\n", "request:2: steps: List should have at least 1"),
        ("name: x\n", "request:1: steps: missing required field (and 1 more problem)"),
        (
            "name: x\nchecks: [{name: c, points: 1, type: message_received}]\n"
            "steps: [{fetch: {}}]\n",
            'request:2: checks[0].of_step: "last send": the scenario',
        ),
        (
            "name: x\nsteps: [{send: {to: bob, subject: s, body: b}}]\n",
            "request:2: steps[0].send.to: 'bob' is not a mail address",
        ),
        (
            "name: x\nsteps: [{sned: {}}]\n",
            f"request:2: steps[0].sned: unknown field (fields: {', '.join(STEP_KEYS)})",
        ),
    ],
)
def test_parse_scenario_errors(text: str, expected: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, "request")
    assert str(caught.value).startswith(expected)
    assert "\n" not in str(caught.value)


def _with_fetch(fetch: str, setup: str = "{}") -> str:
    return (f"name: x\nsetup: {setup}\n"
            "steps: [{send: {to: bob@hamburger.edu, subject: s, body: b, via: webmail}}, "
            f"{{fetch: {fetch}}}]\n"
            "checks: [{name: c, points: 1, type: message_received}]\n")


def test_fetch_steps_take_the_agents_fetch_options() -> None:
    scenario = parse_scenario(_with_fetch(
        "{folder: Junk, part: '1.2', partial: [0, 50], move_to: Trash, idle_seconds: 3}",
        "{fetch_protocol: imap}"), "inline")
    fetch = scenario.steps[1].action
    assert isinstance(fetch, FetchStep)
    request = scenario.fetch_request(fetch)
    assert (request.protocol, request.folder, request.part, request.partial) == (
        "imap", "Junk", "1.2", (0, 50))
    assert (request.move_to, request.idle_seconds) == ("Trash", 3)
    send = scenario.steps[0].action
    assert isinstance(send, SendStep) and send.via == "webmail"


@pytest.mark.parametrize(("fetch", "setup", "field", "problem"), [
    ("{part: '1'}", "{}", "steps[1].fetch.part", "only with protocol imap, not pop3"),
    ("{protocol: pop3, folder: Junk}", "{fetch_protocol: imap}", "steps[1].fetch.folder",
     "POP3 reaches only INBOX"),
    ("{list_folders: true}", "{fetch_protocol: http}", "steps[1].fetch.list_folders",
     "only with protocol imap, not http"),
    ("{partial: [0, 0]}", "{fetch_protocol: imap}", "steps[1].fetch.partial[1]",
     "greater than or equal to 1"),
])
def test_fetch_options_the_protocol_cannot_honour_name_the_step_field(
    fetch: str, setup: str, field: str, problem: str
) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(_with_fetch(fetch, setup), "inline")
    assert caught.value.field == field
    assert problem in caught.value.problem
