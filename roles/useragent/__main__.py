# The user-agent program: `python -m roles.useragent --role sender-ua --runtime compose`.
# It runs only the control agent; the mail clients act when the controller asks.
# The agent admits only the controller (the lab token's digest: MAILLAB_AGENT_DIGEST_FILE).
from __future__ import annotations

import argparse

import uvicorn

from labctl.model import MGMT, LabInstance, Runtime, addressing, current_instance
from roles.useragent.agent import create_agent_app


def main(argv: list[str] | None = None) -> None:
    """Parse arguments and serve the control agent on the management network."""
    parser = argparse.ArgumentParser(prog="roles.useragent", description=__doc__)
    parser.add_argument("--role", required=True, help="sender-ua or receiver-ua")
    parser.add_argument("--runtime", choices=[r.value for r in Runtime], default="compose")
    parser.add_argument("--instance", default=current_instance().name,
                        help="the lab instance (default: MAILLAB_INSTANCE, else maillab)")
    args = parser.parse_args(argv)
    plan = addressing(args.runtime, instance=LabInstance.named(args.instance))
    app = create_agent_app(args.role, plan)
    uvicorn.run(
        app, host=plan.address(args.role, MGMT), port=plan.port(args.role, "control"),
        log_level="warning",
    )


if __name__ == "__main__":
    main()
