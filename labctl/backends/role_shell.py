# `labctl shell ROLE`: a shell "on" a role's host, so people can talk to the lab's servers
# by hand (telnet mail.hamburger.edu 25, as in the lecture).
#
# compose: `docker exec` into the role's container (bash, else sh), where lab names
# resolve through the lab's DNS or /etc/hosts. local: a bash on this machine whose
# startup file names the hosts the role can reach and wraps telnet, nc and dig so that a
# lab name and a standard port become the local address and port, with the role's own
# address as source (the servers, and SPF, see the role as the client). Without a
# terminal on stdin the shell runs the commands given there.
from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from labctl.model import INTERNET, Addressing, Role
from labctl.model.zone import resolver_address

PICK_SHELL = "if command -v bash >/dev/null 2>&1; then exec bash; else exec sh; fi"


@dataclass(frozen=True)
class ShellCommand:
    """How to start a shell in a role: the command, extra environment, lines to print first."""

    argv: list[str]
    env: dict[str, str]
    banner: list[str]


def compose_shell(container: str, role: Role, interactive: bool) -> ShellCommand:
    """`docker exec` into `container` (-it with a terminal, -i to run stdin's commands)."""
    flags = "-it" if interactive else "-i"
    return ShellCommand(["docker", "exec", flags, container, "sh", "-c", PICK_SHELL], {}, [
        f"a shell in {role.name} ({role.hostname}); e.g. telnet mail.hamburger.edu 25",
    ])


def local_shell(plan: Addressing, role: Role, startup: Path, interactive: bool) -> ShellCommand:
    """bash reading the file `startup` (written from startup_file()) when it starts."""
    argv = ["bash", "--rcfile", str(startup), "-i"] if interactive else ["bash", "-s"]
    env = {} if interactive else {"BASH_ENV": str(startup)}
    source = plan.lab_addresses(role)[0]
    banner = [f"{role.name}'s shell on the local lab ({role.hostname} is {source} here)"]
    for other, address in plan.neighbours(role):
        ports = ", ".join(f"{s.name} {plan.port(other, s.name)}" for s in other.lab_services())
        banner.append(f"  {other.hostname:22} {address:13} {ports}")
    banner.append("`telnet mail.hamburger.edu 25` works as shown in the lecture: lab names and "
                  f"standard ports become these addresses and ports, from {source}")
    return ShellCommand(argv, env, banner)


def startup_file(plan: Addressing, role: Role) -> str:
    """The bash startup file of a local shell in `role`."""
    source = plan.lab_addresses(role)[0]
    lines = [f"# maillab: {role.name}'s shell on the local lab (written by labctl shell)",
             f"export MAILLAB_ROLE={role.name} MAILLAB_ADDRESS={source}"]
    arms = []
    for other, address in plan.neighbours(role):
        lines.append(f"export MAILLAB_HOST_{_variable(other.hostname)}={address}")
        for name in (other.hostname, address):
            arms += [f"    {name}:{s.port}) MAILLAB_ARGS=({address} {plan.port(other, s.name)});;"
                     for s in other.lab_services()]
        arms.append(f'    {other.hostname}:*) MAILLAB_ARGS=({address} "${{@:2}}");;')
    lines += [
        "_maillab_map() {", '  MAILLAB_ARGS=("$@")', '  case "${1-}:${2-}" in', *arms, "  esac",
        '  [ "${MAILLAB_ARGS[*]}" = "$*" ] || echo "(maillab: $* is ${MAILLAB_ARGS[*]} here)" >&2',
        "}",
        f'telnet() {{ _maillab_map "$@"; command telnet -b {source} "${{MAILLAB_ARGS[@]}}"; }}',
        f'nc() {{ _maillab_map "$@"; command nc -s {source} "${{MAILLAB_ARGS[@]}}"; }}',
    ]
    if INTERNET in role.networks:
        host, port = resolver_address(plan)
        lines.append(f'dig() {{ command dig @{host} -p {port} -b {source} "$@"; }}')
    prompt = role.name + r"@maillab:\w\$ "
    lines.append(f"PS1={shlex.quote(prompt)}")
    return "\n".join(lines) + "\n"


def _variable(hostname: str) -> str:
    return re.sub(r"[^A-Z0-9]", "_", hostname.upper())
