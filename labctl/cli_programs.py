# Student mode on the command line: `labctl run SCENARIO --role ROLE=COMMAND
# [--submission DIR]` replaces a role with a student's program for the scenario's
# program steps. The program's folder (DIR, default the current folder) is packed here,
# on the machine where the files are, and travels with the run to the role's agent
# (labctl.program_contract); a program step whose role no --role names runs the
# scenario's reference program, packed from the scenario's own folder.
from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported when a run needs them: the CLI starts fast
    from labctl.program_contract import ProgramSpec
    from labctl.scenarios.schema import Scenario


class ProgramArgumentError(ValueError):
    """A --role or --submission the run cannot use; the message says which and why."""


def add_program_arguments(parser: argparse.ArgumentParser) -> None:
    """--role ROLE=COMMAND (repeatable) and --submission DIR."""
    parser.add_argument("--role", action="append", default=[], metavar="ROLE=COMMAND",
                        help="student mode: the shell command that replaces ROLE (a user "
                        "agent or mallory) in the scenario's program steps; it runs where "
                        "the role lives, in a copy of --submission, with MAIL_SERVER, "
                        "SENDER_MTA and RECEIVER_MTA set to host:port (repeatable)")
    parser.add_argument("--submission", metavar="DIR", type=Path, default=None,
                        help="the folder the --role commands run in, copied to the role "
                        "(default: the current folder)")


def parse_role_option(text: str) -> tuple[str, str]:
    """ROLE=COMMAND -> (role, command); ProgramArgumentError naming what is wrong."""
    from labctl.scenarios.fields import hands_on_role

    role, equals, command = text.partition("=")
    if not equals or not command.strip():
        raise ProgramArgumentError(f"--role {text!r}: expected ROLE=COMMAND, "
                                   "e.g. --role 'sender-ua=python3 smtp_client.py'")
    try:
        hands_on_role(role.strip())
    except ValueError as error:
        raise ProgramArgumentError(f"--role {text!r}: {error}") from None
    if command.startswith("image:"):
        raise ProgramArgumentError(f"--role {text!r}: replacing a role with an image is not "
                                   "supported; give the command that runs the program")
    return role.strip(), command.strip()


def replaced_roles(scenario: Scenario, scenario_file: Path,
                   roles: Sequence[str]) -> dict[str, str]:
    """The command of each --role ROLE=COMMAND of `roles`, by role; ProgramArgumentError
    for a bad one or a role the scenario has no program step for."""
    given = dict(parse_role_option(text) for text in roles)
    unused = sorted(set(given) - {step.role for step in scenario.program_steps()})
    if unused:
        raise ProgramArgumentError(f"--role {', '.join(unused)}: {scenario_file} has no "
                                   "program step for that role")
    return given


def programs_for_run(scenario: Scenario, scenario_file: Path, roles: Sequence[str] = (),
                     submission: Path | None = None) -> dict[str, Any]:
    """The `programs` of a run (POST /runs), JSON-ready: each --role ROLE=COMMAND of
    `roles` with the `submission` folder, else each program step's reference program."""
    from labctl.program_bundle import BundleError, pack_folder
    from labctl.program_contract import ProgramSpec

    given = replaced_roles(scenario, scenario_file, roles)
    if submission is not None and not given:
        raise ProgramArgumentError("--submission needs a --role ROLE=COMMAND to run in it")
    programs: dict[str, ProgramSpec] = {}
    if given:
        try:
            bundle = pack_folder(submission or Path.cwd())
        except BundleError as error:
            raise ProgramArgumentError(f"--submission: {error}") from None
        programs = {role: ProgramSpec(command=command, bundle=bundle)
                    for role, command in given.items()}
    programs |= reference_programs(scenario, scenario_file, set(given))
    return {role: spec.model_dump(mode="json") for role, spec in programs.items()}


def reference_programs(scenario: Scenario, scenario_file: Path,
                       replaced: set[str]) -> dict[str, ProgramSpec]:
    """The reference program of each program step whose role is not `replaced`, packed;
    ProgramArgumentError naming the step when its folder cannot be packed."""
    from labctl.program_bundle import BundleError

    programs: dict[str, ProgramSpec] = {}
    for step in scenario.program_steps():
        if step.role not in replaced and step.reference is not None:
            try:
                programs[step.role] = step.reference.spec(scenario_file)
            except BundleError as error:
                raise ProgramArgumentError(f"{scenario_file}: the reference program of the "
                                           f"{step.role} program step: {error}") from None
    return programs


def run_body(scenario_file: Path, programs: dict[str, Any]) -> dict[str, Any]:
    """The body of POST /runs for `scenario_file`: its text, its name (for error
    messages) and the `programs` of programs_for_run."""
    return {"scenario": scenario_file.read_text(encoding="utf-8"),
            "source": str(scenario_file), "programs": programs}
