"""Sync at state scale: cold sync, re-sync after 2% of events changed, an unchanged re-sync, peak memory,
against parsing and expanding the same feeds with icalendar + recurring-ical-events alone (2 processes).

    python benchmarks/bench_sync.py [--data benchmarks/data/state] [--repeat 3] [--skip-baseline]

Generates the data set first if it is missing (benchmarks/generate.py). Each round works on a fresh copy
of the feeds: a cold sync (no store), an unchanged re-sync, then 2% of the events changed (1,200 of
60,000, spread over every feed) and a re-sync. The figures reported are the medians over the rounds.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import resource
import shutil
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from zoneinfo import ZoneInfo

from common import AS_OF, HERE, change_two_percent, courtsync, ensure_data, timed, working_copy  # noqa: E402

CHI = ZoneInfo("America/Chicago")


def run_sync(folder: Path) -> tuple[float, float]:
    """Wall seconds and the peak RSS (MB) of one `courtsync sync` process (and its readers)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    elapsed, proc = timed([*courtsync(), "sync", "--as-of", AS_OF], folder)
    if proc.returncode != 0:
        raise SystemExit(f"sync failed:\n{proc.stdout}\n{proc.stderr}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, max(peak, before) / 1024


def baseline_one(path: str) -> int:
    import icalendar
    import recurring_ical_events

    cal = icalendar.Calendar.from_ical(Path(path).read_bytes())
    window = (datetime(2026, 8, 1, tzinfo=CHI), datetime(2028, 12, 1, tzinfo=CHI))
    return len(list(recurring_ical_events.of(cal).between(*window)))


def baseline(feeds: list[Path]) -> tuple[float, int]:
    start = time.perf_counter()
    with multiprocessing.Pool(2) as pool:
        counts = pool.map(baseline_one, [str(f) for f in feeds], chunksize=5)
    return time.perf_counter() - start, sum(counts)


def one_round(data: Path, seed: int) -> tuple[float, float, float, float, int]:
    """(cold s, unchanged re-sync s, re-sync after 2% changed s, peak MB, events changed) on a fresh copy."""
    work = working_copy(data, "sync-run")
    feeds = sorted((work / "feeds").glob("*.ics"))
    cold, cold_mb = run_sync(work)
    unchanged, _ = run_sync(work)
    changed = change_two_percent(feeds, random.Random(seed))
    resync, resync_mb = run_sync(work)
    shutil.rmtree(work, ignore_errors=True)
    return cold, unchanged, resync, max(cold_mb, resync_mb), changed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=HERE / "data" / "state")
    parser.add_argument("--repeat", type=int, default=3, help="rounds, each on a fresh copy (medians reported)")
    parser.add_argument("--skip-baseline", action="store_true")
    args = parser.parse_args()
    ensure_data(args.data)
    feeds = sorted((args.data / "feeds").glob("*.ics"))
    size = sum(f.stat().st_size for f in feeds) / 1e6
    events = sum(f.read_bytes().count(b"BEGIN:VEVENT") for f in feeds)
    print(f"{len(feeds)} feeds, {events} events, {size:.1f} MB; {args.repeat} round(s), each on a fresh copy")
    rounds = []
    for n in range(args.repeat):
        cold, unchanged, resync, peak, changed = one_round(args.data, 3 + n)
        rounds.append((cold, unchanged, resync, peak))
        print(f"  round {n + 1}: cold {cold:5.2f} s, unchanged {unchanged:5.2f} s, {changed} events changed "
              f"{resync:5.2f} s ({resync / cold:.1%} of cold), peak {peak:.0f} MB")
    cold, unchanged, resync, peak = (statistics.median(r[i] for r in rounds) for i in range(4))
    print(f"cold sync (median):                      {cold:6.2f} s   peak {max(r[3] for r in rounds):.0f} MB")
    print(f"re-sync, nothing changed (median):       {unchanged:6.2f} s   ({unchanged / cold:.1%} of cold)")
    print(f"re-sync, 2% of events changed (median):  {resync:6.2f} s   ({resync / cold:.1%} of cold)")
    if not args.skip_baseline:
        base, occurrences = baseline(feeds)
        print(f"icalendar + recurring-ical-events alone, 2 processes: {base:6.2f} s ({occurrences} occurrences)")
        print(f"courtsync cold sync is {base / cold:.1f}x faster")


if __name__ == "__main__":
    main()
