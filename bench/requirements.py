# What the benchmarks need from the machine, and `python -m bench --setup` to install it.
#
# The baselines are real Postfix programs (postfix, smtp-source, smtp-sink, all in the
# Debian package postfix), Dovecot (dovecot-imapd, dovecot-pop3d), tcpdump and tshark
# (the analyzer's capture and baseline); the Postfix and
# Dovecot the suite starts are private ones in temporary folders (bench/postfix.py,
# bench/dovecot.py), so installing the packages must not start or configure the
# machine's own: the setup preselects "No configuration" and forbids service starts.
from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

from bench.dovecot import DOVECOT_PROGRAMS

# command -> the Debian package that provides it, for each baseline
POSTFIX_PROGRAMS = {"postfix": "postfix", "smtp-source": "postfix", "smtp-sink": "postfix"}
CAPTURE_PROGRAMS = {"tcpdump": "tcpdump", "tshark": "tshark"}
PACKAGES = {**POSTFIX_PROGRAMS, **DOVECOT_PROGRAMS, **CAPTURE_PROGRAMS}
POLICY_RC = Path("/usr/sbin/policy-rc.d")


class MissingTools(RuntimeError):
    """Commands the benchmarks need are missing; the message names their packages."""


def missing_packages(commands: Iterable[str] = tuple(PACKAGES)) -> list[str]:
    """The Debian packages to install for those of `commands` that are missing (sorted)."""
    return sorted({PACKAGES[command] for command in commands if shutil.which(command) is None})


def check(commands: Iterable[str]) -> None:
    """MissingTools naming the commands and packages when one of `commands` is missing."""
    commands = list(dict.fromkeys(commands))
    packages = missing_packages(commands)
    if packages:
        commands = [c for c in commands if shutil.which(c) is None]
        raise MissingTools(
            f"the benchmarks need {', '.join(commands)}: install the Debian package(s) "
            f"{' '.join(packages)} (`python -m bench --setup` runs apt-get install for you)")
    if os.geteuid() != 0:
        raise MissingTools("the Postfix and Dovecot baselines must be started as root")


def install() -> None:
    """apt-get install the missing packages without starting or configuring their services."""
    packages = missing_packages()
    if not packages:
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["debconf-set-selections"], check=True, text=True, env=env,
                   input="postfix postfix/main_mailer_type select No configuration\n")
    had_policy = POLICY_RC.exists()
    if not had_policy:
        POLICY_RC.write_text("#!/bin/sh\nexit 101\n")  # no service starts while installing
        POLICY_RC.chmod(0o755)
    try:
        subprocess.run(["apt-get", "update", "-q"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages],
                       check=True, env=env)
    finally:
        if not had_policy:
            POLICY_RC.unlink(missing_ok=True)
