"""Fuzz the iCalendar reader at length: many seeded mutations of the fixture calendars (tests/ics_mutator.py).

    python benchmarks/fuzz_ics.py --count 20000 --seed 1

Each case must be answered without a traceback, within --limit seconds, with bounded memory, and read
every event the mutation did not touch as before. Prints each failure (fixture, seed, mutation), the
slowest cases and the totals; exits 1 if any case failed. A case is replayed alone with --count 1 and
--seed/--case as printed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests import ics_mutator  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20_000, help="how many mutated calendars (default 20000)")
    parser.add_argument("--seed", type=int, default=1, help="the run's seed (default 1)")
    parser.add_argument("--limit", type=float, default=10.0, help="seconds allowed per case (default 10)")
    parser.add_argument("--memory", type=float, default=500.0, help="MB the peak memory may grow (default 500)")
    args = parser.parse_args()
    baseline = ics_mutator.baselines()
    start_rss = ics_mutator.max_rss_mb()
    failures = 0
    slowest: list[tuple[float, str]] = []
    began = time.perf_counter()
    for case in ics_mutator.cases(args.count, args.seed):
        t = time.perf_counter()
        problem = ics_mutator.check(case, baseline, args.limit)
        took = time.perf_counter() - t
        slowest = sorted([*slowest, (took, case.label())], reverse=True)[:5]
        if problem is None and ics_mutator.max_rss_mb() - start_rss > args.memory:
            problem = f"peak memory grew past {args.memory} MB"
        if problem:
            failures += 1
            print(f"FAIL {case.label()}: {problem}", flush=True)
    total = time.perf_counter() - began
    print(f"{args.count} cases, {failures} failed, {total:.1f} s ({1000 * total / max(args.count, 1):.1f} ms a case), "
          f"peak memory +{ics_mutator.max_rss_mb() - start_rss:.0f} MB")
    for took, label in slowest:
        print(f"  {took:6.2f} s  {label}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
