# Container healthchecks: a role is healthy when its control agent answers /health
# on the management network; the controller when its API answers. Exit 0 or 1.
from __future__ import annotations

import argparse
import sys
import urllib.request

from labctl.model import Runtime, addressing


def main(argv: list[str] | None = None) -> int:
    """Probe one role's agent (or the controller) and return the exit status."""
    parser = argparse.ArgumentParser(prog="roles.healthcheck")
    parser.add_argument("--role")
    parser.add_argument("--controller", action="store_true")
    parser.add_argument("--runtime", default=Runtime.COMPOSE.value)
    args = parser.parse_args(argv)
    plan = addressing(args.runtime)
    url = plan.controller_url() if args.controller else plan.control_url(args.role)
    try:
        with urllib.request.urlopen(url + "/health", timeout=2) as response:
            return 0 if response.status == 200 else 1
    except OSError as error:
        print(f"{url}/health: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
