# A class's grades: one row per submission (labctl grade), and the class summary
# written from the rows as summary.csv (one column per check) and summary.json.
#
# A row holds what the run's report says (score, each check's points, how the student's
# programs ended) or, when the run itself failed (the lab broke, the folder could not be
# packed), why it has no grade. The check columns come from the scenario, so every row
# has them in the scenario's order, an ungraded row with empty cells.
from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from labctl.reports.model import Report

SUMMARY_CSV = "summary.csv"
SUMMARY_JSON = "summary.json"


@dataclass(frozen=True)
class ProgramEnd:
    """How a student's program that replaced `role` ended."""

    role: str
    exit_status: int | None
    timed_out: bool


@dataclass(frozen=True)
class GradeRow:
    """One submission's grade, or why it has none (`error`)."""

    student: str
    score: float | None
    max_score: float
    passed: bool
    checks: dict[str, float]  # check name -> points earned (empty when not graded)
    programs: list[ProgramEnd] = field(default_factory=list)
    error: str = ""
    run_id: str = ""
    attempts: int = 1

    @classmethod
    def from_report(cls, student: str, report: Report, run_id: str,
                    attempts: int = 1) -> GradeRow:
        """The row of a submission whose run finished with `report`."""
        return cls(student=student, score=report.score, max_score=report.max_score,
                   passed=report.passed, checks={c.name: c.score for c in report.checks},
                   programs=[ProgramEnd(p.role, p.exit_status, p.timed_out)
                             for p in report.programs],
                   run_id=run_id, attempts=attempts)

    @classmethod
    def failed(cls, student: str, max_score: float, error: str, attempts: int = 1) -> GradeRow:
        """The row of a submission that could not be graded, saying why."""
        return cls(student=student, score=None, max_score=max_score, passed=False,
                   checks={}, error=error, attempts=attempts)


@dataclass(frozen=True)
class ClassSummary:
    """The scenario's checks (name -> points possible), the graded roles and the rows."""

    scenario: str
    checks: dict[str, float]
    roles: list[str]
    rows: list[GradeRow]

    @property
    def max_score(self) -> float:
        return sum(self.checks.values())

    def program_columns(self) -> list[tuple[str, str, str]]:
        """(column, role, attribute) of each program column: exit_status and timed_out,
        named after the role when several roles are graded."""
        columns = []
        for role in self.roles:
            prefix = f"{role} " if len(self.roles) > 1 else ""
            columns += [(f"{prefix}exit_status", role, "exit_status"),
                        (f"{prefix}timed_out", role, "timed_out")]
        return columns

    def csv_header(self) -> list[str]:
        """The CSV's columns: student, score, max_score, passed, each check, the
        programs' ends, attempts, error."""
        return ["student", "score", "max_score", "passed", *self.checks,
                *(column for column, _, _ in self.program_columns()), "attempts", "error"]

    def csv_row(self, row: GradeRow) -> list[str]:
        """One row's cells, in csv_header's order ("" where the row has no value)."""
        ends = {program.role: program for program in row.programs}
        cells = [row.student, _number(row.score), _number(row.max_score),
                 "" if row.error else str(row.passed).lower()]
        cells += [_number(row.checks.get(name)) for name in self.checks]
        for _, role, attribute in self.program_columns():
            end = ends.get(role)
            value = getattr(end, attribute) if end is not None else None
            cells.append(str(value).lower() if isinstance(value, bool) else _number(value))
        return [*cells, str(row.attempts), row.error]

    def to_json(self) -> dict[str, Any]:
        """The summary as JSON: the scenario, its checks and one object per submission."""
        return {"scenario": self.scenario, "max_score": self.max_score,
                "checks": [{"name": name, "max_score": points}
                           for name, points in self.checks.items()],
                "submissions": [asdict(row) for row in self.rows]}

    def write(self, folder: Path) -> list[Path]:
        """Write summary.csv and summary.json into `folder`; the files written."""
        csv_path, json_path = folder / SUMMARY_CSV, folder / SUMMARY_JSON
        with csv_path.open("w", encoding="utf-8", newline="") as stream:
            writer = csv.writer(stream)
            writer.writerow(self.csv_header())
            writer.writerows(self.csv_row(row) for row in self.rows)
        json_path.write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")
        return [csv_path, json_path]


def _number(value: float | int | None) -> str:
    """A cell for a number: 3 for 3.0, "" for None."""
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)


def sorted_rows(rows: Sequence[GradeRow]) -> list[GradeRow]:
    """The rows in the students' order."""
    return sorted(rows, key=lambda row: row.student)
