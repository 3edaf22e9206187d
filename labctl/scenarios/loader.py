# Reading scenario files: YAML text -> Scenario, every problem as one ScenarioError line.
#
# An instructor's typo must come back as one line naming the file, the line, the field
# path and the problem ("basic.yaml:14: checks[2].expect: must be one of ..."), never as a
# pydantic dump. The line of a field is found by walking the YAML node tree along the
# error's location, so validation errors point at the line as syntax errors do.
from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from labctl.scenarios.checks import CHECK_TYPES, REGISTRY
from labctl.scenarios.checks.base import Feedback
from labctl.scenarios.exercise import ExerciseStep
from labctl.scenarios.fields import FieldProblem
from labctl.scenarios.schema import (
    FetchStep,
    Scenario,
    SendStep,
    Setup,
    Step,
    WaitDeliveredStep,
)

# The model holding the fields of a mapping, by the last key of the mapping's location.
_MODEL_AT: dict[str, type[BaseModel]] = {
    "": Scenario,
    "setup": Setup,
    "steps": Step,
    "send": SendStep,
    "wait_delivered": WaitDeliveredStep,
    "fetch": FetchStep,
    "exercise": ExerciseStep,
    "stand_in": Step,
    "feedback": Feedback,
    **{name: check.model for name, check in REGISTRY.items()},
}


class ScenarioError(Exception):
    """A scenario that cannot be used; str() is one line: file, line, field, problem."""

    def __init__(
        self, source: str, problem: str, field: str | None = None, line: int | None = None
    ) -> None:
        self.source = source
        self.problem = " ".join(problem.split())  # always a single line
        self.field = field
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line is not None else self.source
        field = f" {self.field}:" if self.field else ""
        return f"{where}:{field} {self.problem}"


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate the scenario file at `path`; raise ScenarioError on any problem."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ScenarioError(source, "the file is not UTF-8 text") from None
    except OSError as exc:
        raise ScenarioError(source, f"cannot read the file: {exc.strerror or exc}") from None
    return parse_scenario(text, source)


def parse_scenario(text: str, source: str) -> Scenario:
    """Validate scenario YAML (or JSON) `text`; `source` names it in errors (file, request)."""
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.problem and exc.context and exc.context_mark is not None:
            problem += f" ({exc.context} started on line {exc.context_mark.line + 1})"
        raise ScenarioError(source, f"YAML syntax error: {problem}", line=line) from None
    except yaml.YAMLError as exc:
        raise ScenarioError(source, f"YAML syntax error: {exc}") from None
    if not isinstance(data, dict):
        kind = "nothing" if data is None else f"a {type(data).__name__}"
        raise ScenarioError(
            source, f"a scenario is a mapping with name, steps and checks, got {kind}", line=1
        )
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        field, problem = _describe(errors[0])
        if len(errors) > 1:
            problem += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
        line = _line_of(root, field)
        raise ScenarioError(source, problem, field or None, line) from None


def _describe(error: ErrorDetails) -> tuple[str, str]:
    """(field path, problem) for one pydantic error, in an instructor's words."""
    raw = list(error["loc"])
    loc = [p for i, p in enumerate(raw) if not (i == 2 and raw[0] == "checks" and p in CHECK_TYPES)]
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    cause = ctx.get("error")
    if isinstance(cause, FieldProblem):
        return cause.field, cause.problem
    types = ", ".join(CHECK_TYPES)
    if kind == "union_tag_invalid":
        return _path([*loc, "type"]), f"unknown check type {ctx.get('tag')!r} (types: {types})"
    if kind == "union_tag_not_found":
        return _path([*loc, "type"]), f"missing check type (types: {types})"
    if kind == "extra_forbidden":
        return _path(loc), f"unknown field{_allowed(raw[:-1])}"
    if kind == "missing":
        return _path(loc), "missing required field"
    problem = error["msg"].removeprefix("Value error, ")
    if isinstance(value, str | int | float | bool) and kind != "value_error":
        problem += f" (got {value!r})"
    return _path(loc), problem


def _allowed(parent: list[int | str]) -> str:
    """' (fields: a, b, c)' for the mapping at `parent`, or '' when it is not known."""
    names = [p for p in parent if isinstance(p, str)]
    model = _MODEL_AT.get(names[-1] if names else "")
    if model is None:
        return ""
    fields = [f.alias or name for name, f in model.model_fields.items()]
    return f" (fields: {', '.join(fields)})"


def _path(loc: list[int | str]) -> str:
    """['checks', 2, 'expect'] -> 'checks[2].expect'."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _line_of(root: yaml.Node | None, field: str) -> int | None:
    """The 1-based line of `field` (a path like 'checks[2].expect') in the YAML tree."""
    node, line = root, (root.start_mark.line + 1 if root is not None else None)
    for part in field.replace("[", ".").replace("]", "").split("."):
        if not part:
            continue
        if isinstance(node, yaml.SequenceNode) and part.isdigit() and int(part) < len(node.value):
            node = node.value[int(part)]
        elif isinstance(node, yaml.MappingNode):
            match = [(k, v) for k, v in node.value if getattr(k, "value", None) == part]
            if not match:
                break
            key, node = match[0]
            line = key.start_mark.line + 1
            continue
        else:
            break
        line = node.start_mark.line + 1
    return line
