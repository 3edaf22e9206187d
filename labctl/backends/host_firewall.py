# Sealing the host from the lab (compose runtime): no container may open a connection
# to this machine through a lab bridge. The lab bridges have no IPv4 address on the
# host (compose_file.py inhibits it), but the management bridge needs one (the
# controller reaches the agents through it) and every bridge has an IPv6 link-local
# address; so `labctl up` drops, in the host's INPUT chain, every new connection
# arriving on one of the instance's bridges (IPv4 and IPv6). Replies to the
# controller's own connections are established, not new, so they pass. Each rule
# carries the comment "maillab:<instance>"; `labctl down` deletes exactly those.
from __future__ import annotations

import os
import shlex
import shutil
import subprocess

from labctl.backends.base import LabError, Progress
from labctl.model import Addressing

TOOLS = ("iptables", "ip6tables")


def _rule(bridge: str, comment: str) -> list[str]:
    return ["INPUT", "-i", bridge, "-m", "conntrack", "--ctstate", "NEW",
            "-m", "comment", "--comment", comment, "-j", "DROP"]


def _comment(plan: Addressing) -> str:
    return f"maillab:{plan.instance.name}"


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True)


def firewall_tools() -> list[str]:
    """The iptables programs usable here (none unless root)."""
    if os.geteuid() != 0:
        return []
    return [tool for tool in TOOLS if shutil.which(tool)]


def seal_host(plan: Addressing, progress: Progress) -> None:
    """Drop new connections from every bridge of `plan`'s lab to this host."""
    tools = firewall_tools()
    if "iptables" not in tools:
        progress("warning: not root or no iptables: containers may reach this host "
                 "through the management bridge")
        return
    unseal_host(plan)
    for tool in tools:
        for network in plan.lab.networks:
            result = _run([tool, "-I", *_rule(plan.bridge(network), _comment(plan))])
            if result.returncode != 0:
                raise LabError(f"{tool}: cannot seal bridge {plan.bridge(network)}: "
                               f"{result.stderr.strip()}")


def installed_rules(plan: Addressing, tool: str = "iptables") -> list[list[str]]:
    """The INPUT rules this instance installed, each as `tool -S` words after -A."""
    listing = _run([tool, "-S", "INPUT"])
    rules = [shlex.split(line) for line in listing.stdout.splitlines()]
    marker = ["--comment", _comment(plan)]
    return [words[1:] for words in rules if words[:1] == ["-A"]
            and any(words[i:i + 2] == marker for i in range(len(words)))]


def unseal_host(plan: Addressing) -> None:
    """Delete every rule seal_host installed for this instance (none: nothing to do)."""
    for tool in firewall_tools():
        for rule in installed_rules(plan, tool):
            _run([tool, "-D", *rule])
