# Container healthchecks: a role is healthy when its control agent answers /health
# on the management network; the controller when its API answers. Exit 0 or 1.
from __future__ import annotations

import argparse
import sys
import urllib.request

from labctl.model import LabInstance, Runtime, addressing, current_instance


def main(argv: list[str] | None = None) -> int:
    """Probe one role's agent (or the controller) and return the exit status."""
    parser = argparse.ArgumentParser(prog="roles.healthcheck")
    parser.add_argument("--role")
    parser.add_argument("--controller", action="store_true")
    parser.add_argument("--runtime", default=Runtime.COMPOSE.value)
    parser.add_argument("--instance", default=current_instance().name,
                        help="the lab instance (default: MAILLAB_INSTANCE, else maillab)")
    args = parser.parse_args(argv)
    plan = addressing(args.runtime, instance=LabInstance.named(args.instance))
    url = plan.controller_url() if args.controller else plan.control_url(args.role)
    try:
        with urllib.request.urlopen(url + "/health", timeout=2) as response:
            return 0 if response.status == 200 else 1
    except OSError as error:
        print(f"{url}/health: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
