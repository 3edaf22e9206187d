# Postfix's own test programs as the benchmarks' client and ceiling: smtp-source (a
# parallel SMTP load generator written in C) and smtp-sink (an SMTP server that accepts
# everything and stores nothing).
from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Iterator

from labctl.model import LAB

SMTP_SOURCE_SESSIONS = 20
BODY_SIZE = 1000  # bytes of body per message, for smtp-source and our load client
HELO = "bench.maillab.test"
ALICE, BOB = (next(u for u in LAB.users if u.local_part == name) for name in ("alice", "bob"))


def smtp_source(server: tuple[str, int], count: int, sessions: int = SMTP_SOURCE_SESSIONS,
                keep_connections: bool = True,
                body_size: int = BODY_SIZE) -> subprocess.Popen[bytes]:
    """Start `smtp-source -s SESSIONS -m COUNT [-d]` sending alice -> bob to `server`
    (-d: each session's connection carries many messages; without: one each)."""
    host, port = server
    reuse = ["-d"] if keep_connections else []
    return subprocess.Popen(
        ["smtp-source", "-s", str(sessions), "-m", str(count), *reuse, "-l", str(body_size),
         "-f", ALICE.address, "-t", BOB.address, "-M", HELO, f"{host}:{port}"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def finish(process: subprocess.Popen[bytes], timeout: float) -> None:
    """Wait for a started smtp-source; RuntimeError with its output when it failed."""
    output, _ = process.communicate(timeout=timeout)
    if process.returncode != 0:
        raise RuntimeError(f"smtp-source failed ({process.returncode}): "
                           f"{output.decode(errors='replace').strip()}")


def wait_listening(server: tuple[str, int], timeout: float = 10.0) -> None:
    """Return once `server` accepts TCP connections; TimeoutError otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(server, timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {server[0]}:{server[1]}") from None
            time.sleep(0.05)


@contextlib.contextmanager
def running_smtp_sink(server: tuple[str, int]) -> Iterator[None]:
    """smtp-sink listening on `server` (as user nobody) for the duration of the block."""
    host, port = server
    process = subprocess.Popen(["smtp-sink", "-u", "nobody", f"{host}:{port}", "256"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_listening(server)
        yield
    finally:
        process.terminate()
        process.wait(10)
