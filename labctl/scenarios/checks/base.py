# What every check type is made of, and the registry that lists them once.
#
# A check type is one pydantic model (its fields in the scenario file, `type` a Literal)
# and one grading function, registered together with @check_type(Model). Everything
# that lists check types — the Scenario's discriminated union, the JSON Schema, the
# format's documentation, the loader's error messages and evaluate() — reads REGISTRY.
# A grading function returns a Verdict whose output says, in one line, what was
# expected, what was observed and on which hop.
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, get_args

from pydantic import Field

from labctl.scenarios.checks.evidence import Evidence
from labctl.scenarios.fields import Strict

if TYPE_CHECKING:
    from labctl.scenarios.schema import Scenario


class Feedback(Strict):
    """The instructor's words for a student, added to the check's own output."""

    passed: str = Field("", alias="pass")
    failed: str = Field("", alias="fail")


class CheckSpec(Strict):
    """Fields every check has: a name, its points and optional feedback."""

    type: str  # each check type narrows it to its Literal name
    name: str
    points: float = Field(ge=0)
    feedback: Feedback | None = None

    def scenario_problem(self, scenario: Scenario) -> tuple[str, str] | None:
        """(field, problem) when the check does not fit its scenario, else None."""
        return None

    def folders_read(self, scenario: Scenario) -> list[tuple[str, str]]:
        """(address, folder) of the mailbox folders the check reads, after the steps."""
        return []

    def queues_read(self) -> list[str]:
        """The mail servers whose outgoing queue the check reads, after the steps."""
        return []


@dataclass(frozen=True)
class Verdict:
    """A check's outcome: passed or not, and the one line that says why."""

    passed: bool
    output: str


def hop_verdict(passed: bool, hop: str, expected: str, observed: str) -> Verdict:
    """The usual line: "hop H: O" when passed, else "hop H: expected E, observed O"."""
    if passed:
        return Verdict(True, f"hop {hop}: {observed}")
    return Verdict(False, f"hop {hop}: expected {expected}, observed {observed}")


C = TypeVar("C", bound=CheckSpec)
Grader = Callable[[C, Evidence], Verdict]


@dataclass(frozen=True)
class CheckType:
    """One check type: its model and its grading function."""

    name: str
    model: type[CheckSpec]
    grade: Callable[[Any, Evidence], Verdict]

    @property
    def summary(self) -> str:
        """The first paragraph of the model's docstring, on one line."""
        text = (self.model.__doc__ or "").strip().split("\n\n")[0]
        return " ".join(text.split())


REGISTRY: dict[str, CheckType] = {}


def check_type(model: type[C]) -> Callable[[Grader[C]], Grader[C]]:
    """Register `model` (its `type` a Literal) with the grading function decorated."""
    (name,) = get_args(model.model_fields["type"].annotation)

    def register(grade: Grader[C]) -> Grader[C]:
        if name in REGISTRY:
            raise ValueError(f"check type {name!r} is registered twice")
        REGISTRY[name] = CheckType(name, model, grade)
        return grade

    return register
