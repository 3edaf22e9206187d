# The analyzer benchmark: `labctl analyze` on a real capture of mail traffic vs
# `tshark -q -z conv,tcp` on the same file, in the same run.
#
#   analyze-capture  The capture is made first: smtp-source (one session per message,
#                    20 at a time) into smtp-sink on receiver-mta's address of the
#                    benchmark's instance, recorded by `tcpdump -i lo` filtered to that
#                    address and port (about 100 MB and 4,800 sessions at full size).
#                    Then, per repetition, each as its own process: labctl analyze's
#                    full pass, our reading + decoding + reassembly alone
#                    (`python -m bench.analyzer_benchmarks FILE`), and tshark. Each is
#                    reported in MB/s of wall time and of CPU time (user + system: the
#                    figure that moves least with the machine's load) and in peak
#                    resident memory (MB), all compared with tshark's.
# A process's CPU time and peak memory come from os.wait4 on that process alone.
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

from bench.postfix_tools import finish, running_smtp_sink, smtp_source
from bench.registry import Context, Series, benchmark
from labctl.model import INTERNET

CAPTURE_PORT = 2929  # on receiver-mta's address of the benchmark's instance
MESSAGES = (200, 4800)  # sessions in the capture: small, full
BODY_SIZE = 20_000  # bytes per message body: 4,800 sessions make about 100 MB
SOURCE_TIMEOUT = 600.0
REPO = Path(__file__).resolve().parents[1]
TSHARK = "tshark conv,tcp"


def _record_capture(context: Context) -> Path:
    """A pcap of smtp-source's sessions into smtp-sink, recorded by tcpdump on lo."""
    server = (context.plan.address("receiver-mta", INTERNET), CAPTURE_PORT)
    path = context.work / "mail.pcap"
    with running_smtp_sink(server):
        tcpdump = subprocess.Popen(
            ["tcpdump", "-i", "lo", "-B", "131072", "-s", "0", "-w", str(path),
             f"host {server[0]} and tcp port {server[1]}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        assert tcpdump.stderr is not None
        started = tcpdump.stderr.readline()  # "listening on lo, ..." once it captures
        if "listening" not in started:
            tcpdump.kill()
            raise RuntimeError(f"tcpdump did not start: {started.strip()}")
        try:
            finish(smtp_source(server, context.pick(*MESSAGES), keep_connections=False,
                               body_size=BODY_SIZE),
                   SOURCE_TIMEOUT)
        finally:
            tcpdump.terminate()
            report = tcpdump.communicate(timeout=30)[1]
    dropped = re.search(r"(\d+) packets? dropped by kernel", report)
    if dropped is None or int(dropped.group(1)):
        raise RuntimeError(f"tcpdump lost packets, the capture is not usable: {report.strip()}")
    return path


class _Measured:
    """Wall MB/s, CPU MB/s and peak MB of one program over the repetitions."""

    def __init__(self, label: str) -> None:
        self.speed = Series(f"{label} MB/s", "MB/s", higher_is_better=True,
                            baseline=f"{TSHARK} MB/s")
        self.cpu = Series(f"{label} MB/s of CPU time", "MB/s", higher_is_better=True,
                          baseline=f"{TSHARK} MB/s of CPU time")
        self.memory = Series(f"{label} peak memory", "MB", higher_is_better=False,
                             baseline=f"{TSHARK} peak memory")

    def run(self, command: list[str], megabytes: float) -> None:
        """Run `command` to its end, recording its figures; RuntimeError when it fails."""
        env = {name: value for name, value in os.environ.items()
               if name != "PYTHONDONTWRITEBYTECODE"}  # as installed: compiled once, reused
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, env=env)
        assert process.stderr is not None
        errors = process.stderr.read()
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            raise RuntimeError(f"{command[0]} failed ({process.returncode}): "
                               f"{errors.decode(errors='replace').strip()[-500:]}")
        self.speed.values.append(megabytes / wall)
        self.cpu.values.append(megabytes / max(usage.ru_utime + usage.ru_stime, 1e-6))
        self.memory.values.append(usage.ru_maxrss / 1024)  # KiB on Linux

    def series(self) -> list[Series]:
        return [self.speed, self.cpu, self.memory]


@benchmark("analyze-capture", "labctl analyze on a capture of smtp-source sessions vs tshark",
           baseline=f"{TSHARK} MB/s", needs=("smtp-source", "smtp-sink", "tcpdump", "tshark"))
def analyze_capture(context: Context) -> list[Series]:
    """Full pass and reading + reassembly alone, each against tshark -z conv,tcp."""
    capture = _record_capture(context)
    megabytes = capture.stat().st_size / 1e6
    full, stages, tshark = _Measured("labctl analyze"), _Measured("read+reassemble"), \
        _Measured(TSHARK)
    for _ in range(context.repeat):
        full.run([sys.executable, "-c", "import sys; from labctl.cli import main; "
                  "sys.exit(main())", "analyze", str(capture)], megabytes)
        stages.run([sys.executable, "-m", "bench.analyzer_benchmarks", str(capture)], megabytes)
        tshark.run(["tshark", "-q", "-z", "conv,tcp", "-r", str(capture)], megabytes)
    return [*tshark.series(), *full.series(), *stages.series()]


def read_and_reassemble(path: str) -> int:
    """Read, decode and reassemble every connection of `path`; how many there were."""
    from labctl.analysis.pipeline import CaptureStreams

    return sum(1 for _ in CaptureStreams(path))


if __name__ == "__main__":
    print(read_and_reassemble(sys.argv[1]))
