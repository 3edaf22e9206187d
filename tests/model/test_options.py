# Lab options: one definition (LabOptions) read from the environment, refusing bad values by
# name, and its optional twin (LabOptionChanges) that a setup or the agent uses to change some.
from __future__ import annotations

import pytest
from pydantic import ValidationError

from labctl.model.options import LabOptionChanges, LabOptions, OptionError


def test_defaults_are_the_lectures_starting_point() -> None:
    options = LabOptions.from_env({})
    assert options == LabOptions(spf="off", trust_lan=False, relay_concurrency=20,
                                 sender_login_match=True)


def test_options_round_trip_through_the_environment() -> None:
    options = LabOptions(spf="junk", trust_lan=True, relay_concurrency=1,
                         sender_login_match=False)
    assert options.to_env()["MAILLAB_SPF"] == "junk"
    assert LabOptions.from_env(options.to_env()) == options


@pytest.mark.parametrize(("variable", "value"), [
    ("MAILLAB_SPF", "maybe"), ("MAILLAB_TRUST_LAN", "perhaps"),
    ("MAILLAB_RELAY_CONCURRENCY", "0"), ("MAILLAB_RELAY_CONCURRENCY", "²"),
])
def test_a_bad_value_names_the_variable(variable: str, value: str) -> None:
    with pytest.raises(OptionError, match=variable):
        LabOptions.from_env({variable: value})


def test_changes_replace_only_the_options_they_set() -> None:
    base = LabOptions(trust_lan=True, relay_concurrency=3)
    changes = LabOptionChanges(spf="junk", relay_concurrency=1)
    assert changes.option_values() == {"spf": "junk", "relay_concurrency": 1}
    assert base.changed_by(changes) == LabOptions(spf="junk", trust_lan=True,
                                                  relay_concurrency=1)
    assert LabOptions().changed_by(base.as_changes()) == base
    assert base.changed_by(LabOptionChanges()) == base


@pytest.mark.parametrize(("field", "value"), [
    ("spf", "maybe"), ("trust_lan", "perhaps"), ("relay_concurrency", 0),
    ("relay_concurrency", 101), ("sender_login_match", 2),
])
def test_changes_have_the_options_types_and_bounds(field: str, value: object) -> None:
    with pytest.raises(ValidationError) as refused:
        LabOptionChanges.model_validate({field: value})
    assert [error["loc"] for error in refused.value.errors()] == [(field,)]
    with pytest.raises(ValidationError):
        LabOptions.model_validate({field: value})


def test_changes_offer_every_option_and_nothing_else() -> None:
    assert list(LabOptionChanges.model_fields) == list(LabOptions.model_fields)
    with pytest.raises(ValidationError):
        LabOptionChanges.model_validate({"colour": "blue"})
