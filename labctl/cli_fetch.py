# `labctl fetch`: its options and output. The options are the agents' own contract
# (labctl.agent_contract.FetchRequest): the request is built and checked here, so a
# combination no protocol can honour (`--part` with POP3) is refused before any
# request, with the contract's message naming the option.
from __future__ import annotations

import argparse
import sys
from typing import Any

from labctl.model.topology import FETCH_PROTOCOLS


def byte_range(text: str) -> tuple[int, int]:
    """--partial's value: START.COUNT (or START COUNT, two words)."""
    start, _, count = text.replace(" ", ".").partition(".")
    try:
        return int(start), int(count)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not START.COUNT (two whole numbers, e.g. 0.100)") from None


class _PartialAction(argparse.Action):
    """--partial START COUNT or --partial START.COUNT."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        words = values if isinstance(values, list) else [values]
        if len(words) > 2:
            parser.error(f"{option_string}: START COUNT or START.COUNT, not {' '.join(words)}")
        try:
            setattr(namespace, self.dest, byte_range(" ".join(words)))
        except argparse.ArgumentTypeError as error:
            parser.error(f"{option_string}: {error}")


def add_fetch_arguments(fetch: argparse.ArgumentParser) -> None:
    """The options of `labctl fetch`, one per field of the agents' FetchRequest."""
    fetch.add_argument("--role", default="receiver-ua")
    fetch.add_argument("--protocol", default="pop3", choices=FETCH_PROTOCOLS)
    keep_or_delete = fetch.add_mutually_exclusive_group()
    keep_or_delete.add_argument("--keep", dest="delete", action="store_false",
                                help="download and keep the mail on the server (the default)")
    keep_or_delete.add_argument("--delete", dest="delete", action="store_true",
                                help="download and delete (POP3 DELE; IMAP \\Deleted, EXPUNGE)")
    fetch.set_defaults(delete=False)
    fetch.add_argument("--folder", default="INBOX",
                       help="the folder to fetch, IMAP and HTTP (default INBOX)")
    imap = fetch.add_argument_group("IMAP only")
    imap.add_argument("--headers-only", action="store_true", help="only each message's header")
    imap.add_argument("--part", metavar="SECTION", help='one MIME part, e.g. "1" or "1.2"')
    imap.add_argument("--partial", nargs="+", action=_PartialAction, metavar="START",
                      help="only COUNT bytes from START: --partial 0 100 or --partial 0.100")
    imap.add_argument("--move-to", metavar="FOLDER", help="move the fetched messages there")
    imap.add_argument("--idle", dest="idle_seconds", type=float, metavar="SECONDS",
                      help="first wait up to SECONDS for new mail (IMAP IDLE)")
    imap.add_argument("--list-folders", action="store_true", help="also list the folders")


def fetch_body(args: argparse.Namespace) -> dict[str, Any]:
    """The POST /fetches body the options make; exit 2 with one line naming the problem."""
    from pydantic import ValidationError  # the contract's models: loaded only to fetch

    from labctl.agent_contract import FetchOptions, FetchRequest

    options = {name: getattr(args, name) for name in FetchOptions.model_fields}
    try:
        request = FetchRequest(protocol=args.protocol, **options)
    except ValidationError as error:
        problem = error.errors()[0]
        where = ".".join(str(part) for part in problem["loc"])
        text = problem["msg"].removeprefix("Value error, ")
        print(f"labctl fetch: {where + ': ' if where else ''}{text}", file=sys.stderr)
        raise SystemExit(2) from None
    return {"role": args.role, **request.model_dump(mode="json", exclude_defaults=True),
            "protocol": request.protocol}


def print_fetched(args: argparse.Namespace, result: dict[str, Any]) -> str:
    """Print the folders and messages fetched; the summary line to show."""
    for folder in result.get("folders") or []:
        print(folder)
    for message in result["messages"]:
        print(message.rstrip("\r\n"), end="\n\n")
    where = (f"moved to {args.move_to}" if args.move_to else
             "deleted from the server" if args.delete else "kept on the server")
    return (f"{len(result['messages'])} message(s) fetched over {args.protocol.upper()}, "
            f"{where}")
