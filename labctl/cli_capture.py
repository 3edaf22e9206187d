# `labctl capture`: start, stop, list and download the controller's captures. The
# controller records (tcpdump or the recording relays, whichever its backend chose);
# the CLI only asks. A stopped capture's notes (a size limit reached, packets the
# kernel dropped) are printed on stderr, so nobody reads an incomplete pcap unwarned.
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from labctl.client import ControllerClient

ACTIONS = ("start", "stop", "list", "download")


def add_capture_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `labctl capture`."""
    parser.add_argument("action", choices=ACTIONS)
    parser.add_argument("id", nargs="?", help="the capture to stop or download")
    parser.add_argument("network", nargs="?",
                        help="download only this network's pcap (default: every network)")
    parser.add_argument("-o", "--output", default=".", metavar="DIR",
                        help="where download writes the pcaps (default: here)")
    parser.add_argument("--limit-mb", type=float, default=None, metavar="MB",
                        help="start: the most each network's pcap may hold "
                             "(default: the controller's MAILLAB_CAPTURE_LIMIT_MB)")


def capture_usage_error(args: argparse.Namespace) -> str | None:
    """What is missing from the command line, or None when it is complete."""
    if args.action in ("stop", "download") and not args.id:
        return f"capture {args.action} needs the capture id (labctl capture list)"
    return None


def _notes(capture: dict[str, Any]) -> None:
    for notes in capture.get("problems", {}).values():
        for note in notes:
            print(f"labctl: {note}", file=sys.stderr)


def run_capture(args: argparse.Namespace, client: ControllerClient) -> int:
    """Carry out one `labctl capture` action against the controller."""
    if args.action == "start":
        body = {} if args.limit_mb is None else {"limit_mb": args.limit_mb}
        print(client.request("POST", "/captures", body)["id"])
    elif args.action == "stop":
        capture = client.request("POST", f"/captures/{quote(args.id, safe='')}/stop")
        for network, pcap in capture["pcaps"].items():
            print(f"{network:10} {pcap}")
        _notes(capture)
    elif args.action == "list":
        for capture in client.request("GET", "/captures"):
            state = "running" if capture["running"] else "stopped"
            print(f"{capture['id']}  {state}  {' '.join(capture['pcaps'])}")
    else:
        download(args, client)
    return 0


def download(args: argparse.Namespace, client: ControllerClient) -> None:
    """Write the capture's pcaps (or the one asked for) into the output folder."""
    base = f"/captures/{quote(args.id, safe='')}"
    capture = client.request("GET", base)
    networks = [args.network] if args.network else list(capture["pcaps"])
    if not networks:
        print(f"labctl: capture {args.id} has no pcap yet (stop it first)", file=sys.stderr)
    folder = Path(args.output)
    folder.mkdir(parents=True, exist_ok=True)
    for network in networks:
        data = client.content(f"{base}/pcaps/{quote(network, safe='')}")
        target = folder / f"{network}.pcap"
        target.write_bytes(data)
        print(f"{network:10} {target}")
    _notes(capture)
