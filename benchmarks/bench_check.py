"""Wall-clock time of `courtsync check` on the state-scale roster, interpreter start included.

    python benchmarks/bench_check.py [--runs 30] [--data benchmarks/data/state]

Generates the data set first if it is missing. Reports the first run after the roster changed
(cold: CSV files validated and cached in the store) and the runs after it (warm).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import AS_OF, HERE, courtsync, ensure_data, timed  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--data", type=Path, default=HERE / "data" / "state")
    args = parser.parse_args()
    ensure_data(args.data, feeds=False)
    rng = random.Random(1)
    workers = [line.split(",", 1)[0] for line in (args.data / "workers.csv").read_text().splitlines()[1:]]
    dates = ["2027-01-13", "2027-02-17", "2027-03-10", "2027-04-21", "2027-05-05", "2027-06-16"]

    def one() -> tuple[float, int]:
        seconds, proc = timed([*courtsync(), "check", "--worker", rng.choice(workers), "--date", rng.choice(dates),
                               "--as-of", AS_OF], args.data)
        assert proc.returncode in (0, 1), proc.stderr
        return seconds, proc.returncode

    for leftover in [*args.data.glob("courtsync.db*"), *args.data.glob("courtsync.cache.db*")]:
        leftover.unlink()
    cold, _ = one()
    warm = [one() for _ in range(args.runs)]
    times = sorted(t for t, _ in warm)
    taken = sum(1 for _, code in warm if code == 1)
    print(f"courtsync check, {len(workers)} staff, {args.runs} runs ({taken} dates taken, "
          f"{args.runs - taken} free)")
    print(f"  cold (first run after the roster changed): {cold * 1000:.0f} ms")
    print(f"  warm median {statistics.median(times) * 1000:.0f} ms, p90 "
          f"{times[int(len(times) * 0.9) - 1] * 1000:.0f} ms, max {times[-1] * 1000:.0f} ms")
    base, _ = timed([sys.executable, "-c", "pass"], args.data)
    print(f"  (bare interpreter start: {base * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
