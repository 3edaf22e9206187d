# The grader's check types, each declared once: one pydantic model and one grading
# function per type, in a module per family, registered in base.REGISTRY.
#
# This package derives from the registry everything else lists: AnyCheck (the
# discriminated union the Scenario model, and so its JSON Schema, is built from),
# CHECK_TYPES (the loader's messages), checks_help() (the format's documentation) and
# evaluate() (the runner). Adding a check type is writing its model and grading function
# in a family module listed in FAMILIES, nothing else.
from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Union

from pydantic import Field

from labctl.reports.model import CheckResult
from labctl.scenarios.checks import dialogs, hops, intact, received, stored, tcp
from labctl.scenarios.checks.base import REGISTRY, CheckSpec, CheckType, Evidence, Unmet, Verdict

FAMILIES = (hops, tcp, dialogs, received, intact, stored)  # imported: their types registered
CHECK_TYPES: tuple[str, ...] = tuple(REGISTRY)

if TYPE_CHECKING:
    AnyCheck = CheckSpec
else:
    AnyCheck = Annotated[Union[tuple(t.model for t in REGISTRY.values())],  # noqa: UP007
                         Field(discriminator="type")]

__all__ = ["CHECK_TYPES", "REGISTRY", "AnyCheck", "CheckSpec", "CheckType", "Evidence",
           "Verdict", "checks_help", "evaluate"]


def checks_help() -> str:
    """The check types in words, one paragraph each (the format's documentation)."""
    return "\n".join(f"- {t.name}: {t.summary}" for t in REGISTRY.values())


def _result(check: CheckSpec, verdict: Verdict) -> CheckResult:
    output = verdict.output
    if check.feedback is not None:
        words = check.feedback.passed if verdict.passed else check.feedback.failed
        output = f"{output} — {words}" if words else output
    return CheckResult(name=check.name, passed=verdict.passed,
                       score=check.points if verdict.passed else 0.0,
                       max_score=check.points, output=output)


def evaluate(check: CheckSpec, evidence: Evidence) -> CheckResult:
    """Grade `check`; a failure is explained by the run's problems, an error becomes one."""
    try:
        verdict = REGISTRY[check.type].grade(check, evidence)
    except Unmet as unmet:
        verdict = Verdict(False, str(unmet))
    except Exception as exc:  # a check must grade, never crash the run
        verdict = Verdict(False, f"check could not be evaluated: {exc!r}")
    result = _result(check, verdict)
    if not result.passed and evidence.problems:
        note = "; ".join(evidence.problems)
        result = result.model_copy(update={"output": f"{result.output} (run: {note})"})
    return result
