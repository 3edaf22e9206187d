# Choosing a backend: by name, by MAILLAB_BACKEND, or compose only when Docker answers.
from __future__ import annotations

import pytest

from labctl.backends.base import LabError
from labctl.backends.compose import ComposeBackend, engine_available
from labctl.backends.local import LocalBackend
from labctl.backends.select import choose_backend
from tests.conftest import TEST_INSTANCE


def test_named_backends() -> None:
    assert isinstance(choose_backend("local"), LocalBackend)
    assert isinstance(choose_backend("compose"), ComposeBackend)


def test_environment_names_the_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILLAB_BACKEND", "local")
    assert isinstance(choose_backend(None), LocalBackend)


def test_auto_picks_compose_exactly_when_an_engine_answers() -> None:
    # no lab of the test instance is up here: the engine alone decides
    expected = ComposeBackend if engine_available() else LocalBackend
    assert isinstance(choose_backend("auto", TEST_INSTANCE), expected)


def test_unknown_backend_is_an_error_naming_the_choices() -> None:
    with pytest.raises(LabError, match=r"'kubernetes'.*compose, local"):
        choose_backend("kubernetes")
