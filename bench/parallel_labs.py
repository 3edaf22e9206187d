# labs-in-parallel: K local labs (bench-par-1, -2..., each of its own slot) brought up
# at once, each runs basic-delivery: how many pass, and the wall time until the last
# finished; baseline: one lab alone, the same way. K = 20 at full size (2 small); goal:
# all K pass. Every lab is taken down at the end, whatever happened (Ctrl-C too).
from __future__ import annotations

import concurrent.futures
import sys
import time
from pathlib import Path

from bench.lab_benchmarks import graded_run, ms_since
from bench.local_labs import captures_in, local_backend, quiet
from bench.registry import Context, Goal, Series, benchmark
from labctl.backends.base import LabError
from labctl.backends.local import LocalBackend
from labctl.client import ControllerClient, ControllerError
from labctl.model import LabInstance


def parallel_instances(count: int, taken: LabInstance) -> list[LabInstance]:
    """`count` instances bench-par-1, -2... whose slots differ (from `taken`'s too): two
    names of one slot would share addresses and ports."""
    used, instances, number = {0, taken.slot}, list[LabInstance](), 0
    while len(instances) < count:
        number += 1
        instance = LabInstance.named(f"bench-par-{number}")
        if instance.slot not in used:
            used.add(instance.slot)
            instances.append(instance)
    return instances


def _up_and_graded(backend: LocalBackend) -> bool:
    """Bring `backend`'s lab up and run basic-delivery on it: whether it passed."""
    try:
        backend.up(quiet)
        report = graded_run(ControllerClient(backend.controller_url()))
    except (LabError, ControllerError) as error:
        print(f"bench: lab {backend.instance.name}: {error}", file=sys.stderr)
        return False
    if not report.passed:
        print(f"bench: lab {backend.instance.name}: basic-delivery did not pass",
              file=sys.stderr)
    return report.passed


def labs_at_once(work: Path, instances: list[LabInstance]) -> tuple[int, float]:
    """Bring the labs of `instances` up at once, each runs basic-delivery: (how many
    passed, ms until the last finished). Every lab is taken down afterwards, whatever
    happened (Ctrl-C too)."""
    backends = [local_backend(work / instance.name, instance) for instance in instances]
    with captures_in(work / "captures"), \
            concurrent.futures.ThreadPoolExecutor(len(backends)) as pool:
        start = time.perf_counter()
        runs = [pool.submit(_up_and_graded, backend) for backend in backends]
        try:
            passed = sum(run.result() for run in runs)
            return passed, ms_since(start)
        finally:  # once no lab is still coming up, so none comes up after its down
            concurrent.futures.wait(runs)
            list(pool.map(lambda backend: backend.down(quiet), backends))


@benchmark("labs-in-parallel", "K local labs brought up at once, each runs basic-delivery "
           "(K = 20 at full size)", baseline="one lab: up + basic-delivery")
def labs_in_parallel(context: Context) -> list[Series]:
    """K labs at once (how many pass, wall time) vs one lab alone."""
    count = context.pick(2, 20)
    alone = Series("one lab: up + basic-delivery", "ms", higher_is_better=False)
    together = Series(f"{count} labs at once: up + basic-delivery", "ms",
                      higher_is_better=False)
    one_passed = Series("one lab: passed", "labs", higher_is_better=True,
                        baseline="one lab: passed")
    passed = Series(f"{count} labs at once: passed", "labs", higher_is_better=True,
                    baseline=one_passed.label, goal=Goal(count, at_most=False))
    instances = parallel_instances(count, context.instance)
    for repetition in range(context.repeat):
        labs, elapsed = labs_at_once(context.work / f"alone-{repetition}", [context.instance])
        one_passed.values.append(labs)
        alone.values.append(elapsed)
        labs, elapsed = labs_at_once(context.work / f"together-{repetition}", instances)
        passed.values.append(labs)
        together.values.append(elapsed)
    return [alone, together, one_passed, passed]
