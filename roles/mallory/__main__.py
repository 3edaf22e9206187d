# mallory's program: `python -m roles.mallory --role mallory --runtime compose`.
# It serves only the control agent (/health); people use the host with `labctl shell`.
from __future__ import annotations

import argparse
import asyncio

from labctl.model import Runtime, addressing, current_instance
from roles.control import agent_app, serve_agent


def main(argv: list[str] | None = None) -> None:
    """Parse arguments and serve the control agent on the management network."""
    parser = argparse.ArgumentParser(prog="python -m roles.mallory",
                                     description="maillab outside host (mallory)")
    parser.add_argument("--role", default="mallory")
    parser.add_argument("--runtime", choices=[r.value for r in Runtime], default="compose")
    args = parser.parse_args(argv)
    plan = addressing(args.runtime, instance=current_instance())
    asyncio.run(serve_agent(agent_app(args.role), plan, args.role))


if __name__ == "__main__":
    main()
