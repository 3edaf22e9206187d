# labctl, the thin command line over the backends and the controller API:
# up / down / status, send, fetch, queue, capture, analyze (offline, cli_analyze.py), run
# (attended exercises: cli_exercise.py; student programs: cli_programs.py), grade (a
# class's submissions, cli_grade.py), report, scenario schema / validate (cli_scenario.py).
# Errors are one line on stderr with a non-zero exit status (2 for bad input).
from __future__ import annotations

import argparse
import base64
import mimetypes
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from labctl.cli_analyze import add_analyze_arguments, cmd_analyze
from labctl.cli_capture import add_capture_arguments, capture_usage_error
from labctl.cli_fetch import add_fetch_arguments
from labctl.cli_grade import add_grade_arguments
from labctl.cli_programs import add_program_arguments
from labctl.cli_scenario import add_scenario_arguments, cmd_scenario
from labctl.model import LAB, InstanceError, LabInstance, Runtime, addressing, current_instance
from labctl.model.instance import DEFAULT_INSTANCE_NAME, INSTANCE_ENV
from labctl.reports.formats import REPORT_FORMATS

if TYPE_CHECKING:  # each command imports what it runs with (`labctl analyze` starts fast)
    from labctl.backends.base import LabBackend
    from labctl.client import ControllerClient
    from labctl.model.mail_queue import QueueEntry


def progress(message: str) -> None:
    print(f"labctl: {message}", file=sys.stderr, flush=True)


def choose_backend(name: str | None) -> LabBackend:
    """The lab's backend by name (None or "auto": the one that answers)."""
    from labctl.backends.select import choose_backend as choose

    return choose(name)


def controller_for(args: argparse.Namespace) -> ControllerClient:
    """The controller of the lab `args` name; LabError when that lab is not up."""
    from labctl.backends.base import LabError
    from labctl.client import ControllerClient

    backend = choose_backend(args.backend)
    if not backend.is_up():
        raise LabError(f"the {backend.runtime} lab is not up (run: labctl up)")
    return ControllerClient(backend.controller_url())


def ensure_up(backend: LabBackend, note: Callable[[str], None] = progress) -> None:
    """Bring `backend`'s lab up when it is not, or when one of its roles stopped."""
    if not backend.is_up():
        note(f"bringing the lab up ({backend.runtime} backend)")
        backend.up(note)
        return
    down = backend.roles_down()
    if down:
        note(f"{', '.join(down)} not running: bringing the {backend.runtime} lab up again")
        backend.up(note)


def cmd_up(args: argparse.Namespace) -> int:
    backend = choose_backend(args.backend)
    backend.up(progress)
    progress(f"lab is up ({backend.runtime}); controller at {backend.controller_url()}/docs")
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    choose_backend(args.backend).down(progress)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    backend = choose_backend(args.backend)
    for name, state in backend.status().items():
        print(f"{name:14} {state}")
    return 0 if backend.is_up() else 1


def _attachment(path: Path) -> dict[str, str]:
    """An attachment of the API (filename, content type, base64 data) from a file."""
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return {"filename": path.name, "content_type": content_type, "data": data}


def cmd_send(args: argparse.Namespace) -> int:
    body = {"from_role": args.from_role, "to": args.to, "subject": args.subject, "body": args.body,
            "attachments": [_attachment(Path(name)) for name in args.attach], "via": args.via}
    result = controller_for(args).request("POST", "/messages", body)
    print(f"{result['message_id']}  {result['server_reply']}")
    return 0


def cmd_fetch(args: argparse.Namespace) -> int:
    from labctl.cli_fetch import fetch_body, print_fetched

    result = controller_for(args).request("POST", "/fetches", fetch_body(args))
    progress(print_fetched(args, result))
    return 0


def render_queue(entries: Sequence[QueueEntry], now: float) -> str:
    """A queue listing as a table: id, sender, recipients, attempts, next try, last error."""
    if not entries:
        return "queue is empty\n"
    rows = [("ID", "FROM", "TO", "TRIES", "NEXT", "LAST ERROR")]
    for entry in entries:
        wait = entry.next_attempt - now
        due = entry.state if entry.state == "failed" else (f"{wait:.0f}s" if wait > 0 else "now")
        rows.append((entry.id, f"<{entry.mail_from}>", ",".join(entry.rcpt_tos),
                     str(entry.attempts), due, (entry.last_error or "-")[:80]))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
             + "  " + row[-1] for row in rows]
    return "\n".join(lines) + "\n"


def cmd_queue(args: argparse.Namespace) -> int:
    from labctl.model.mail_queue import QueueEntry

    client = controller_for(args)
    base = f"/servers/{args.role}/queue"
    if args.flush:
        progress(f"{client.request('POST', base + '/flush')['flushed']} message(s) retried now")
    elif args.delete:
        deleted = client.request("DELETE", f"{base}/{quote(args.delete, safe='')}")["deleted"]
        print(f"deleted {deleted}")
        return 0
    path = base + "/failed" if args.failed else base
    entries = [QueueEntry.model_validate(e) for e in client.request("GET", path)]
    print(render_queue(entries, time.time()), end="")
    return 0


def cmd_server(args: argparse.Namespace) -> int:
    from labctl.model.mail_service import ServiceState

    path = f"/servers/{args.role}/service"
    if args.state is None:
        up = ServiceState.model_validate(controller_for(args).request("GET", path)).up
    else:
        wanted = ServiceState(up=args.state == "up").model_dump()
        up = ServiceState.model_validate(controller_for(args).request("PUT", path, wanted)).up
    print(f"{args.role}: {'up' if up else 'down (its lab addresses answer nothing)'}")
    return 0


def cmd_capture(args: argparse.Namespace) -> int:
    from labctl.cli_capture import run_capture

    return run_capture(args, controller_for(args))


def cmd_run(args: argparse.Namespace) -> int:
    from labctl.cli_run import run_scenario_file

    return run_scenario_file(args)


def cmd_grade(args: argparse.Namespace) -> int:
    from labctl.cli_grade import cmd_grade as grade

    return grade(args)


def cmd_report(args: argparse.Namespace) -> int:
    from labctl.cli_run import show_report

    return show_report(args)


def cmd_shell(args: argparse.Namespace) -> int:
    interactive = sys.stdin.isatty()
    shell = choose_backend(args.backend).shell(args.role, interactive)
    for line in shell.banner:
        progress(line)
    return subprocess.run(shell.argv, env={**os.environ, **shell.env}).returncode


def cmd_dns(args: argparse.Namespace) -> int:
    from labctl.model.zone import lab_zone

    runtime = args.runtime or choose_backend(args.backend).runtime
    print(lab_zone(addressing(runtime, instance=current_instance())).text(), end="")
    return 0


def cmd_compose_file(args: argparse.Namespace) -> int:
    from labctl.model.compose_file import render_compose_file

    print(render_compose_file(instance=LabInstance.named(args.instance)), end="")
    return 0


LAB_HELP = (f"which lab (instance) to act on; default ${INSTANCE_ENV} or "
            f"'{DEFAULT_INSTANCE_NAME}'. Each lab has its own addresses, bridges and ports")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="labctl", description="Run and grade the maillab.")
    parser.add_argument("--backend", choices=["auto", "compose", "local"], default=None,
                        help="where the lab runs (default: compose if Docker answers, else local)")
    parser.add_argument("--lab", metavar="NAME", default=None, help=LAB_HELP)
    sub = parser.add_subparsers(dest="command", required=True)

    def add(
        name: str, handler: Callable[[argparse.Namespace], int], help: str
    ) -> argparse.ArgumentParser:
        command = sub.add_parser(name, help=help)
        command.set_defaults(handler=handler)
        return command

    add("up", cmd_up, "bring the lab up and wait until it is ready")
    add("down", cmd_down, "stop the lab and remove it")
    add("status", cmd_status, "show each role's state")
    send = add("send", cmd_send, "make a user agent send a message")
    send.add_argument("--to", default="bob@hamburger.edu")
    send.add_argument("--from-role", default="sender-ua")
    send.add_argument("--subject", default="Hello from Alice")
    send.add_argument("--body", default="Do you like ketchup?\nHow about pickles?\n")
    send.add_argument("--attach", action="append", default=[], metavar="FILE",
                      help="attach a file (repeatable)")
    send.add_argument("--via", default="smtp", choices=["smtp", "webmail"],
                      help="submit over SMTP (the default) or through the webmail")
    fetch = add("fetch", cmd_fetch, "make a user agent fetch its mail")
    add_fetch_arguments(fetch)
    queue = add("queue", cmd_queue, "show a mail server's outgoing queue, flush it, delete one")
    queue.add_argument("role", help="the mail server, e.g. sender-mta")
    queue_action = queue.add_mutually_exclusive_group()
    queue_action.add_argument("--flush", action="store_true", help="retry every message now")
    queue_action.add_argument("--delete", metavar="ID", help="remove one message, undelivered")
    queue_action.add_argument("--failed", action="store_true", help="list the bounced messages")
    server = add("server", cmd_server, "show a mail server's state, or take it down or up "
                 "(down: its lab connections refused and cut, its queue and mailboxes kept)")
    server.add_argument("role", choices=[r.name for r in LAB.mail_servers()])
    server.add_argument("state", nargs="?", choices=["up", "down"], default=None)
    add_capture_arguments(add("capture", cmd_capture, "start, stop, list or download captures"))
    add_analyze_arguments(add("analyze", cmd_analyze,
                              "analyse any pcaps offline (network name = file name)"))
    run = add("run", cmd_run, "run a graded scenario (exit 0 only if every check passed)")
    run.add_argument("scenario")
    run.add_argument("--format", choices=list(REPORT_FORMATS), default="table")
    add_program_arguments(run)
    run.add_argument("--unattended", action="store_true",
                     help="run each exercise's stand-in instead of waiting for you (the "
                     "default without a terminal on stdin)")
    add_grade_arguments(add("grade", cmd_grade, "grade every student's folder of a class, "
                            "each on a lab of its own; write the class summary"))
    add_scenario_arguments(add("scenario", cmd_scenario,
                               "print the scenario JSON Schema, or validate scenario files"))
    report = add("report", cmd_report, "show the report of an earlier run")
    report.add_argument("run_id")
    report.add_argument("--format", choices=list(REPORT_FORMATS), default="table")
    report.add_argument("--html", metavar="PATH", nargs="?", const="",
                        help="also write the run's HTML page (default: RUN_ID.html next to "
                        "the run's pcaps, which it links to)")
    compose_file = add("compose-file", cmd_compose_file,
                       "print compose.yaml as rendered from the lab model")
    compose_file.add_argument("--instance", default="maillab",
                              help="render for this lab instance (default: the default lab)")
    shell = add("shell", cmd_shell, "open a shell in a role (without a terminal: run stdin)")
    shell.add_argument("role", choices=LAB.role_names())
    dns = add("dns", cmd_dns, "print the lab's DNS zone (the records the dns role serves)")
    dns.add_argument("--runtime", choices=[r.value for r in Runtime], default=None,
                     help="whose addresses (default: the backend's)")
    for name in ("up", "down", "status", "send", "fetch", "queue", "server", "capture", "run",
                 "grade", "report", "shell", "dns"):
        sub.choices[name].add_argument("--backend", choices=["auto", "compose", "local"],
                                       default=argparse.SUPPRESS)
    for name in sub.choices:
        sub.choices[name].add_argument("--lab", metavar="NAME", default=argparse.SUPPRESS,
                                       help=LAB_HELP)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one labctl command; return its exit status."""
    args = build_parser().parse_args(argv)
    if args.lab is not None:  # every command (and what it starts) reads MAILLAB_INSTANCE
        try:
            LabInstance.named(args.lab)
        except InstanceError as error:
            print(f"labctl: --lab: {error}", file=sys.stderr)
            return 2
        os.environ[INSTANCE_ENV] = args.lab
    missing = capture_usage_error(args) if args.command == "capture" else None
    if missing:
        print(f"labctl: {missing}", file=sys.stderr)
        return 2
    try:
        status: int = args.handler(args)
        return status
    except Exception as error:
        usage, failure = _error_kinds()
        if not isinstance(error, usage + failure):
            raise
        print(f"labctl: {error}", file=sys.stderr)
        return 2 if isinstance(error, usage) else 1


def _error_kinds() -> tuple[tuple[type[Exception], ...], tuple[type[Exception], ...]]:
    """(errors of the user's input: status 2, failures of the lab or a file: status 1),
    imported only when a command failed."""
    from labctl.analysis import PcapError
    from labctl.backends.base import LabError
    from labctl.cli_programs import ProgramArgumentError
    from labctl.client import ControllerError
    from labctl.reports.roles_file import RolesError
    from labctl.scenarios import ScenarioError

    return ((ScenarioError, InstanceError, RolesError, ProgramArgumentError),
            (LabError, ControllerError, PcapError, OSError))


if __name__ == "__main__":
    sys.exit(main())
