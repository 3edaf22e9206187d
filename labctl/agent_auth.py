# Who may call the roles' control agents: the controller only.
#
# Each lab has a secret token, made when the lab comes up (`labctl up` for the local
# runtime; in compose, a one-shot `lab-secret` service run by this module's main()).
# The controller alone can read the token and sends it as a bearer token; the roles
# only hold its SHA-256, so a student who reads every file of a role still cannot
# call an agent. /health stays open (healthchecks). The token never crosses a lab
# link: agents listen on the management network only.
#
# Files: the controller reads MAILLAB_AGENT_TOKEN_FILE, the agents MAILLAB_AGENT_DIGEST_FILE.
# An agent without a digest refuses every protected call (it fails closed); the agents'
# FastAPI dependency that checks the token is agent_guard.py (this module stays free of
# FastAPI, so the CLI and the compose file writer load quickly).
from __future__ import annotations

import argparse
import hashlib
import os
import secrets
import sys
from pathlib import Path

TOKEN_FILE_ENV = "MAILLAB_AGENT_TOKEN_FILE"
DIGEST_FILE_ENV = "MAILLAB_AGENT_DIGEST_FILE"
TOKEN_FILE_NAME = "agent-token"
DIGEST_FILE_NAME = "agent-token.sha256"


def token_digest(token: str) -> str:
    """The hex SHA-256 of `token`, as the agents store it."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def make_lab_secret(token_file: Path, digest_file: Path) -> str:
    """Create the lab's token and its digest unless they exist; return the token."""
    if token_file.exists() and digest_file.exists():
        return token_file.read_text().strip()
    token = secrets.token_urlsafe(32)
    for path, text, mode in ((token_file, token, 0o600), (digest_file, token_digest(token), 0o644)):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(descriptor, "w") as file:
            file.write(text + "\n")
    return token


def authorization_headers(token: str | None) -> dict[str, str]:
    """The headers the controller sends to every agent."""
    return {"Authorization": f"Bearer {token}"} if token else {}


def main(argv: list[str] | None = None) -> int:
    """Make the lab secret (compose's one-shot lab-secret service)."""
    parser = argparse.ArgumentParser(prog="python -m labctl.agent_auth", description=__doc__)
    parser.add_argument("--token-dir", type=Path, required=True, help="the controller's volume")
    parser.add_argument("--digest-dir", type=Path, required=True, help="the roles' volume")
    args = parser.parse_args(argv)
    make_lab_secret(args.token_dir / TOKEN_FILE_NAME, args.digest_dir / DIGEST_FILE_NAME)
    print(f"lab token in {args.token_dir}, its SHA-256 in {args.digest_dir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
