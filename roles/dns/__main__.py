# The name server program: `python -m roles.dns --role dns --runtime compose`.
# It answers for the lab zone on its internet address (port 53 on compose, 5053
# locally) over UDP and TCP, and serves its control agent (/health, /zone).
from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from fastapi.responses import PlainTextResponse

from labctl.model import INTERNET, Runtime, addressing, current_instance
from labctl.model.zone import lab_zone
from roles.control import agent_app, serve_agent
from roles.dns.responder import Responder
from roles.dns.server import DnsServer


async def run(role: str, runtime: str) -> None:
    """Answer DNS queries and serve the control agent until SIGTERM/SIGINT."""
    plan = addressing(runtime, instance=current_instance())
    zone = lab_zone(plan)
    server = DnsServer(Responder(zone), plan.address(role, INTERNET), plan.port(role, "dns"))
    await server.start()
    app = agent_app(role)

    @app.get("/zone", response_class=PlainTextResponse)
    def zone_text() -> PlainTextResponse:
        """The zone this server answers for, as zone-file text."""
        return PlainTextResponse(zone.text())

    try:
        await serve_agent(app, plan, role)
    finally:
        await server.stop()


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run the name server; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m roles.dns",
                                     description="maillab name server (lab zone only)")
    parser.add_argument("--role", default="dns")
    parser.add_argument("--runtime", choices=[r.value for r in Runtime], default="compose")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=args.log_level.upper(),
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        asyncio.run(run(args.role, args.runtime))
    except OSError as exc:
        print(f"dns {args.role}: cannot start: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
