# `labctl shell ROLE` on the local backend: a bash whose startup file names the lab's
# hosts and turns `telnet mail.hamburger.edu 25` into the local address and port.
from __future__ import annotations

import os
import subprocess
from pathlib import Path

from labctl.backends.local import LocalBackend
from labctl.backends.role_shell import compose_shell
from labctl.model import LAB
from tests.peers.tools import require_tool


def run_in_shell(home: Path, role: str, script: str) -> subprocess.CompletedProcess[str]:
    """Run `script` as the stdin of `role`'s local shell (no terminal), as labctl does."""
    require_tool("bash")
    shell = LocalBackend(home=home).shell(role, interactive=False)
    return subprocess.run(shell.argv, input=script, env={**os.environ, **shell.env},
                          capture_output=True, text=True, timeout=30)


def test_lab_names_and_standard_ports_become_local_addresses(tmp_path: Path) -> None:
    result = run_in_shell(tmp_path, "mallory", "\n".join([
        'echo "$MAILLAB_ROLE $MAILLAB_ADDRESS $MAILLAB_HOST_MAIL_HAMBURGER_EDU"',
        '_maillab_map mail.hamburger.edu 25; echo "${MAILLAB_ARGS[*]}"',
        '_maillab_map mail.crepes.fr 587; echo "${MAILLAB_ARGS[*]}"',
        '_maillab_map 127.77.2.26 110; echo "${MAILLAB_ARGS[*]}"',
        '_maillab_map example.org 25; echo "${MAILLAB_ARGS[*]}"',
        "type telnet | grep -c 'command telnet -b 127.77.2.66'",
    ]))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "mallory 127.77.2.66 127.77.2.26", "127.77.2.26 2525", "127.77.2.25 5587",
        "127.77.2.26 1110", "example.org 25", "1",
    ]
    assert "(maillab: mail.hamburger.edu 25 is 127.77.2.26 2525 here)" in result.stderr


def test_a_lan_host_reaches_only_its_own_server(tmp_path: Path) -> None:
    result = run_in_shell(tmp_path, "receiver-ua",
                          '_maillab_map mail.hamburger.edu 110; echo "${MAILLAB_ARGS[*]}"; '
                          '_maillab_map mail.crepes.fr 25; echo "${MAILLAB_ARGS[*]}"; '
                          "type dig 2>&1 | grep -c function")
    assert result.stdout.splitlines() == ["127.77.3.26 1110", "mail.crepes.fr 25", "0"]


def test_banner_says_how_to_reach_each_server(tmp_path: Path) -> None:
    banner = "\n".join(LocalBackend(home=tmp_path).shell("mallory", interactive=True).banner)
    assert "mail.hamburger.edu" in banner and "127.77.2.26" in banner and "smtp 2525" in banner
    assert "`telnet mail.hamburger.edu 25` works as shown" in banner


def test_compose_shell_execs_into_the_container_with_a_terminal_only_when_there_is_one() -> None:
    mallory = LAB.role("mallory")
    assert compose_shell("maillab-mallory-1", mallory, True).argv[:4] == [
        "docker", "exec", "-it", "maillab-mallory-1"]
    assert compose_shell("maillab-mallory-1", mallory, False).argv[2] == "-i"
