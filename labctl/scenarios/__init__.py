# Graded scenarios: the file format (schema), loading, the runner and its checks.
from labctl.scenarios.actions import LabActions, SentMessage
from labctl.scenarios.checks import CHECK_TYPES, REGISTRY, Evidence, evaluate
from labctl.scenarios.loader import ScenarioError, load_scenario, parse_scenario
from labctl.scenarios.runner import run_scenario
from labctl.scenarios.schema import Scenario, scenario_json_schema

__all__ = [
    "CHECK_TYPES",
    "REGISTRY",
    "Evidence",
    "LabActions",
    "Scenario",
    "ScenarioError",
    "SentMessage",
    "evaluate",
    "load_scenario",
    "parse_scenario",
    "run_scenario",
    "scenario_json_schema",
]
