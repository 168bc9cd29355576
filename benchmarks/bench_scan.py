"""Conflicts at state scale, after a sync: `check` for one worker, a full six-month `scan`, and the same
scan computed by a straightforward script with icalendar + recurring-ical-events, for comparison.

    python benchmarks/bench_scan.py [--data benchmarks/data/state] [--runs 20] [--skip-script]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import re
import statistics
import subprocess
import sys
import time
import tomllib
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from zoneinfo import ZoneInfo

from common import AS_OF, HERE, check_picks, courtsync, ensure_data, timed  # noqa: E402


def straightforward(folder: Path) -> int:
    """What someone would write with the libraries alone: parse, expand, match, compare every pair."""
    import icalendar
    import recurring_ical_events

    config = tomllib.loads((folder / "courtsync.toml").read_text())
    tz = ZoneInfo(config["timezone"])
    workers = list(csv.DictReader(io.StringIO((folder / "workers.csv").read_text())))
    by_case: dict[str, set[str]] = {}
    for row in csv.DictReader(io.StringIO((folder / "caseload.csv").read_text())):
        by_case.setdefault(row["case_number"], set()).add(row["worker_id"])
    by_email = {w["email"].lower(): w["id"] for w in workers}
    sessions = json.loads(subprocess.run([*courtsync(), "dates", "--format", "json", "--as-of", AS_OF,
                                          "--to", str(date.fromisoformat(AS_OF) + timedelta(days=183))],
                                         cwd=folder, capture_output=True, text=True).stdout)["sessions"]
    lo = datetime(2026, 11, 1, tzinfo=tz)
    hi = datetime(2027, 7, 1, tzinfo=tz)
    events = []
    for court in config["court"]:
        pattern = re.compile(court["case_pattern"])
        for feed in court["feeds"]:
            cal = icalendar.Calendar.from_ical((folder / feed).read_bytes())
            for occ in recurring_ical_events.of(cal).between(lo, hi):
                owners = set()
                for case in pattern.findall(str(occ.get("SUMMARY", ""))):
                    owners |= by_case.get(case, set())
                attendee = occ.get("ATTENDEE")
                if attendee:
                    owners |= {by_email[str(attendee).lower()[7:]]} if str(attendee).lower()[7:] in by_email else set()
                events.append((occ.start.timestamp(), occ.end.timestamp(), owners))
    members = {w["id"]: set(w["collaboratives"].split(";")) for w in workers}
    found = 0
    buffer = 3600
    for s in sessions:
        a = datetime.fromisoformat(s["start"]).timestamp() - buffer
        b = datetime.fromisoformat(s["end"]).timestamp() + buffer
        for start, end, owners in events:
            if start < b and a < end:
                found += sum(1 for w in owners if s["collaborative_id"] in members[w])
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=HERE / "data" / "state")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--skip-script", action="store_true")
    args = parser.parse_args()
    ensure_data(args.data)
    seconds, proc = timed([*courtsync(), "sync", "--as-of", AS_OF], args.data)
    print(f"sync (to have a current store): {seconds:.2f} s")
    runs = []
    for worker, day in check_picks(args.data, random.Random(5), args.runs):
        seconds, proc = timed([*courtsync(), "check", "--worker", worker, "--date", day, "--as-of", AS_OF], args.data)
        assert proc.returncode in (0, 1), proc.stderr
        runs.append(seconds)
    runs.sort()
    print(f"check, one worker, with calendars: median {statistics.median(runs) * 1000:.0f} ms, "
          f"p90 {runs[int(len(runs) * 0.9) - 1] * 1000:.0f} ms")
    seconds, proc = timed([*courtsync(), "scan", "--format", "json", "--as-of", AS_OF], args.data)
    assert proc.returncode in (0, 1), proc.stderr
    conflicts = len(json.loads(proc.stdout)["conflicts"])
    print(f"scan, everyone, six months: {seconds:.2f} s ({conflicts} conflicts)")
    if not args.skip_script:
        start = time.perf_counter()
        naive = straightforward(args.data)
        script = time.perf_counter() - start
        print(f"straightforward icalendar + recurring-ical-events script: {script:.2f} s ({naive} overlaps "
              f"within an hour); courtsync scan is {script / seconds:.0f}x faster")


if __name__ == "__main__":
    main()
