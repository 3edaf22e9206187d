# The benchmark suite's command line: python -m bench [NAME...] (./maillab bench).
#
#   python -m bench                      every benchmark, 3 repetitions, full size
#   python -m bench smtp-one-hop --repeat 5 --size small --json out.json
#   python -m bench --list               the benchmarks and what each measures
#   python -m bench --setup              apt-get install what the baselines need
# Results go to a table on stdout and to JSON (default bench/results/bench-results.json,
# a git-ignored folder).
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import bench.analyzer_benchmarks
import bench.fetch_benchmarks
import bench.lab_benchmarks
import bench.parallel_labs
import bench.smtp_benchmarks  # noqa: F401  (registers its benchmarks)
from bench import requirements
from bench.registry import BENCHMARKS, DEFAULT_INSTANCE, Context, Result, Size
from bench.report import table, write_json
from labctl.model import InstanceError, LabInstance

DEFAULT_JSON = Path(__file__).resolve().parent / "results" / "bench-results.json"


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    """Parse the suite's command line."""
    parser = argparse.ArgumentParser(prog="python -m bench",
                                     description="maillab's benchmarks, each against its "
                                                 "baseline measured in the same run")
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"benchmarks to run (default: all of {', '.join(BENCHMARKS)})")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions (default 3)")
    parser.add_argument("--size", type=Size, choices=list(Size), default=Size.FULL,
                        help="small: a few seconds each (the suite's tests); full: real figures")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write JSON")
    parser.add_argument("--instance", default=DEFAULT_INSTANCE.name,
                        help="lab instance whose loopback addresses the servers use "
                             f"(default {DEFAULT_INSTANCE.name})")
    parser.add_argument("--no-compose", action="store_true",
                        help="leave out the compose labs' rows (reported as not measured)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("--setup", action="store_true",
                        help="install the Debian packages the baselines need, then exit")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the chosen benchmarks; the exit status (2: bad arguments or missing tools)."""
    args = parse_arguments(argv)
    if args.list:
        for benchmark in BENCHMARKS.values():
            print(f"{benchmark.name:18} {benchmark.description} (vs {benchmark.baseline})")
        return 0
    if args.setup:
        requirements.install()
        return 0
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown or args.repeat < 1:
        problem = f"no benchmark {', '.join(unknown)}" if unknown else "--repeat must be >= 1"
        print(f"bench: {problem} (benchmarks: {', '.join(BENCHMARKS)})", file=sys.stderr)
        return 2
    try:
        instance = LabInstance.named(args.instance)
        if instance.is_default:
            raise InstanceError("the default lab's instance is for the lab, not for benchmarks")
        requirements.check(command for name in args.names or list(BENCHMARKS)
                           for command in BENCHMARKS[name].needs)
    except (InstanceError, requirements.MissingTools) as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    results = []
    for name in args.names or list(BENCHMARKS):
        benchmark = BENCHMARKS[name]
        print(f"bench: running {name} ({args.size}, {args.repeat}x)...", file=sys.stderr)
        with tempfile.TemporaryDirectory(prefix=f"maillab-bench-{name}-") as work:
            context = Context(args.repeat, args.size, Path(work), instance,
                              compose=not args.no_compose)
            results.append(Result(benchmark, benchmark.run(context)))
    print(table(results))
    write_json(args.json, results, args.size, args.repeat)
    print(f"bench: results written to {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
