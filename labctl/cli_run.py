# labctl run and labctl report: a graded run of a scenario file on the lab (student
# programs from --role, attended exercises), its report in the format asked for, and a
# run's HTML page next to its pcaps.
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from labctl.cli import choose_backend, controller_for, ensure_up, progress
from labctl.model import LAB
from labctl.reports.formats import render_report
from labctl.reports.model import Report


def run_scenario_file(args: argparse.Namespace) -> int:
    """labctl run: grade a scenario file on the lab (bringing it up), print its report."""
    from labctl.cli_programs import programs_for_run, run_body
    from labctl.client import ControllerClient
    from labctl.scenarios import load_scenario

    scenario_path = Path(args.scenario)
    scenario = load_scenario(scenario_path)  # bad files fail here, before any lab is started
    # so do bad --role options
    programs = programs_for_run(scenario, scenario_path, args.role, args.submission)
    backend = choose_backend(args.backend)
    ensure_up(backend)
    progress(f"running {scenario_path.name} on the {backend.runtime} lab")
    if args.role and backend.runtime.value == "local":
        progress("on the local lab a --role program runs as you, in no container")
    client = ControllerClient(backend.controller_url())
    body = run_body(scenario_path, programs)
    exercises = any(step.kind == "exercise" for step in scenario.steps)
    if exercises and not args.unattended and sys.stdin.isatty():
        from labctl.cli_exercise import attend_run

        try:
            run = attend_run(client, body, sys.stdin.fileno(), progress)
        except KeyboardInterrupt:
            progress("run cancelled")
            return 130
    else:
        if exercises:
            progress("unattended: each exercise's stand-in steps play the student")
        run = client.request("POST", "/runs", body)
    report = Report.model_validate(run["report"])
    print(render_report(report, args.format), end="")
    if report.hops:
        progress(f"pcaps in {Path(report.hops[0].pcap).parent} (open them in Wireshark)")
    progress(f"run {run['id']}: `labctl report {run['id']} --html` writes its HTML page")
    progress(f"the {backend.runtime} lab is still up; `labctl down` removes it")
    return 0 if report.passed else 1


def save_run_page(report: Report, run_id: str, path: str) -> Path:
    """Write a run's HTML page to `path` ("": RUN_ID.html next to its pcaps); where it went."""
    beside = Path(report.hops[0].pcap).parent if report.hops else Path()
    page = Path(path) if path else beside / f"{run_id}.html"
    from labctl.reports.html_page import render_run_page  # the page's renderer: only here

    page.write_text(render_run_page(report, LAB), encoding="utf-8")
    return page


def show_report(args: argparse.Namespace) -> int:
    """labctl report: an earlier run's report again, and its HTML page when asked."""
    from labctl.client import ControllerError

    run = controller_for(args).request("GET", f"/runs/{args.run_id}")
    if run.get("report") is None:
        raise ControllerError(f"run {args.run_id} has no report ({run.get('state')})")
    report = Report.model_validate(run["report"])
    print(render_report(report, args.format), end="")
    if args.html is not None:
        page = save_run_page(report, args.run_id, args.html)
        progress(f"HTML report in {page} (its pcap links are relative to it)")
    return 0
