# `labctl scenario schema` and `labctl scenario validate FILE...`: the scenario format
# for editors and instructors, without a lab. Validation prints one line per file, an
# error naming the file, the line and the field (labctl.scenarios.loader); exit 2 when
# any file is invalid.
from __future__ import annotations

import argparse
import json
import sys


def add_scenario_arguments(command: argparse.ArgumentParser) -> None:
    """The `scenario` subcommands: schema, validate FILE..."""
    actions = command.add_subparsers(dest="scenario_command", required=True)
    actions.add_parser("schema", help="print the JSON Schema of scenario files")
    validate = actions.add_parser("validate", help="check scenario files (exit 2 if any is bad)")
    validate.add_argument("files", nargs="+", metavar="FILE")


def cmd_scenario(args: argparse.Namespace) -> int:
    """Run `labctl scenario schema|validate`."""
    from labctl.scenarios import ScenarioError, load_scenario, scenario_json_schema

    if args.scenario_command == "schema":
        print(json.dumps(scenario_json_schema(), indent=2))
        return 0
    status = 0
    for path in args.files:
        try:
            scenario = load_scenario(path)
        except ScenarioError as error:
            print(f"labctl: {error}", file=sys.stderr)
            status = 2
            continue
        points = sum(check.points for check in scenario.checks)
        print(f"{path}: ok ({len(scenario.steps)} steps, {len(scenario.checks)} checks, "
              f"{points:g} points)")
    return status
