# Lab options travel as environment variables and refuse bad values by name.
from __future__ import annotations

import pytest

from labctl.model.options import LabOptions, OptionError


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
