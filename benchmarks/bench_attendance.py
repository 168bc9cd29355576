"""Attendance at state scale: a year of sign-in sheets for 10,000 staff (about 60,000 rows, a file a month)
imported by `courtsync attendance import`, imported again unchanged, then every worker's status resolved
(sessions, make-ups, excuses, CEUs). Time and peak memory of each, in its own process.

    python benchmarks/bench_attendance.py [--data benchmarks/data/state-nofeeds] [--share 0.55]
"""

from __future__ import annotations

import argparse
import csv
import random
import shutil
import sys
import tempfile
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import AS_OF, HERE, courtsync, ensure_data, run  # noqa: E402

YEAR_LATER = (date.fromisoformat(AS_OF) + timedelta(days=365)).isoformat()
RESOLVE = """
import sys, time
from datetime import date
from courtsync.context import load_context
from courtsync.queries.attendance import Book, moment
today = date.fromisoformat(sys.argv[1])
ctx = load_context("courtsync.toml", today)
start = time.perf_counter()
book = Book(ctx, moment(ctx, today, time.time))
counts = {}
for worker in ctx.roster.workers.values():
    for row in book.rows(worker):
        counts[row.status] = counts.get(row.status, 0) + 1
print(sorted(counts.items()), f"{time.perf_counter() - start:.2f}")
"""


def sheets(work: Path, share: float, seed: int) -> tuple[list[Path], int]:
    """A sheet per month: each member present at each session of the year with probability `share`; one in
    twenty absentees makes it up at another collaborative of the same kind."""
    rng = random.Random(seed)
    members: dict[str, list[str]] = defaultdict(list)
    with (work / "workers.csv").open() as f:
        for row in csv.DictReader(f):
            for cid in row["collaboratives"].split(";"):
                members[cid].append(row["id"])
    out = run([*courtsync(), "dates", "--format", "csv", "--from", AS_OF, "--to", YEAR_LATER, "--as-of", AS_OF],
              work)
    sessions = [(r["date"], r["collaborative_id"], r["kind"]) for r in csv.DictReader(out.stdout.splitlines())]
    by_kind: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for day, cid, kind in sessions:
        by_kind[kind].append((day, cid))
    months: dict[str, list[str]] = defaultdict(list)
    for day, cid, kind in sessions:
        for wid in members[cid]:
            if rng.random() < share:
                months[day[:7]].append(f"{day},{cid},{wid},{rng.choice(['', '', '', '2', '1:30'])}")
            elif rng.random() < 0.05:
                other_day, other = rng.choice(by_kind[kind])
                if other != cid:
                    months[other_day[:7]].append(f"{other_day},{other},{wid},")
    paths = []
    total = 0
    for month, rows in sorted(months.items()):
        path = work / f"signins-{month}.csv"
        unique = sorted(set(rows))
        path.write_text("date,collaborative_id,worker_id,hours\n" + "\n".join(unique) + "\n")
        paths.append(path)
        total += len(unique)
    return paths, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=HERE / "data" / "state-nofeeds")
    parser.add_argument("--share", type=float, default=0.55)
    args = parser.parse_args()
    ensure_data(args.data, feeds=False)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "work"
        shutil.copytree(args.data, work)
        paths, rows = sheets(work, args.share, 11)
        names = [p.name for p in paths]
        first = run([*courtsync(), "attendance", "import", *names], work)
        again = run([*courtsync(), "attendance", "import", *names], work)
        resolved = run([sys.executable, "-c", RESOLVE, YEAR_LATER], work)
        print(f"{rows} sign-ins in {len(paths)} files")
        print(f"import: {first.seconds:.1f} s, peak {first.peak_mb:.0f} MB, exit {first.returncode} "
              f"{first.stderr.strip()[-200:]}")
        print(f"import again (unchanged): {again.seconds:.1f} s, peak {again.peak_mb:.0f} MB")
        print(f"resolve every status: {resolved.seconds:.1f} s in all (of which resolving: "
              f"{resolved.stdout.split()[-1] if resolved.stdout else '?'} s), peak {resolved.peak_mb:.0f} MB: "
              f"{' '.join(resolved.stdout.split()[:-1])}{resolved.stderr[-300:]}")


if __name__ == "__main__":
    main()
