# Command line of the mail server: python -m roles.mailserver --role ... --runtime ... --data DIR
from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from labctl.model import LAB, Runtime
from labctl.model.options import OptionError
from roles.mailserver.server import MailServer
from roles.mailserver.settings import MailServerSettings


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the mail server's command line."""
    parser = argparse.ArgumentParser(prog="python -m roles.mailserver",
                                     description="maillab mail server (SMTP, submission, POP3)")
    parser.add_argument("--role", required=True, choices=[r.name for r in LAB.mail_servers()])
    parser.add_argument("--runtime", default=Runtime.COMPOSE.value,
                        choices=[r.value for r in Runtime])
    parser.add_argument("--data", required=True, type=Path, help="queue and mailbox folder")
    parser.add_argument("--behind-relay", action="store_true",
                        help="listen on the hidden ports; a recording relay holds the usual ones")
    parser.add_argument("--tls-dir", type=Path, default=None,
                        help="the lab's TLS folder (CA and certificates, made on first use); "
                             "offers STARTTLS when given")
    parser.add_argument("--log-level", default="INFO")
    return parser.parse_args(argv)


async def run(settings: MailServerSettings) -> None:
    """Serve until SIGTERM/SIGINT or a fatal error."""
    server = MailServer(settings)
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    waiter = asyncio.create_task(server.wait())
    stopper = asyncio.create_task(stop.wait())
    await asyncio.wait([waiter, stopper], return_when=asyncio.FIRST_COMPLETED)
    stopper.cancel()
    await server.stop()
    if waiter.done():
        waiter.result()


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    args = parse_arguments(argv)
    logging.basicConfig(stream=sys.stderr, level=args.log_level.upper(),
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # The format names no thread or process: don't collect them for every record
    # (the logging HOWTO's "Optimization"; a server logs a line per message).
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    try:
        settings = MailServerSettings.for_role(args.role, args.runtime, args.data,
                                               args.behind_relay, args.tls_dir)
    except OptionError as exc:
        print(f"mailserver {args.role}: bad lab option: {exc}", file=sys.stderr)
        return 2
    try:
        asyncio.run(run(settings))
    except OSError as exc:
        print(f"mailserver {args.role}: cannot start: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
