"""scan's conflicts equal an independent, careful, all-pairs computation with icalendar + recurring-ical-events."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
import tomllib
import warnings
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events

from tests.conftest import AS_OF, ROOT, Run

Runner = Callable[..., Run]
UTC = ZoneInfo("UTC")


def minutes(text: str) -> timedelta:
    m = re.fullmatch(r"(\d+)([mh])", text)
    assert m, text
    return timedelta(minutes=int(m.group(1)) * (60 if m.group(2) == "h" else 1))


def independent(folder: Path, run: Runner, first: date, last: date) -> set[tuple[str, ...]]:
    config = tomllib.loads((folder / "courtsync.toml").read_text())
    tz = ZoneInfo(config["timezone"])
    workers = list(csv.DictReader(io.StringIO((folder / "workers.csv").read_text())))
    caseload = list(csv.DictReader(io.StringIO((folder / "caseload.csv").read_text())))
    by_email = {w["email"].lower(): w["id"] for w in workers}
    by_case: dict[str, set[str]] = {}
    for row in caseload:
        by_case.setdefault(row["case_number"], set()).add(row["worker_id"])
    collabs = {w["id"]: [c for c in w["collaboratives"].split(";") if c] for w in workers}
    dates = json.loads(run("dates", "--config", folder / "courtsync.toml", "--all", "--format", "json").stdout)
    sessions = [s for s in dates["sessions"] if s["status"] == "scheduled"
                and first <= date.fromisoformat(s["date"]) <= last]
    global_buffer = minutes(config.get("buffer", "60m"))
    events: dict[str, list[tuple[str, datetime, datetime | None, timedelta]]] = {}
    lo = datetime.combine(first - timedelta(days=2), datetime.min.time(), tzinfo=tz)
    hi = datetime.combine(last + timedelta(days=2), datetime.min.time(), tzinfo=tz)
    for court in config.get("court", []):
        buffer = minutes(court["buffer"]) if "buffer" in court else global_buffer
        pattern = re.compile(court["case_pattern"]) if "case_pattern" in court else None
        for feed in court.get("feeds", []):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                cal = icalendar.Calendar.from_ical((folder / feed).read_bytes())
                occurrences = list(recurring_ical_events.of(cal).between(lo, hi))
            for occ in occurrences:
                if str(occ.get("STATUS", "")).upper() == "CANCELLED":
                    continue
                start = occ.start
                if not isinstance(start, datetime):
                    start = datetime.combine(start, datetime.min.time(), tzinfo=tz)
                    end: datetime | None = datetime.combine(occ.end, datetime.min.time(), tzinfo=tz)
                else:
                    start = start if start.tzinfo else start.replace(tzinfo=tz)
                    end = occ.end if ("DTEND" in occ or "DURATION" in occ) else None
                owners = set()
                for a in (occ.get("ATTENDEE") or []) if isinstance(occ.get("ATTENDEE"), list) else \
                        ([occ.get("ATTENDEE")] if occ.get("ATTENDEE") else []):
                    owners |= {by_email[e] for e in [str(a).lower().removeprefix("mailto:")] if e in by_email}
                if pattern:
                    text = " ".join(str(occ.get(p, "")) for p in ("SUMMARY", "DESCRIPTION", "LOCATION"))
                    for case in pattern.findall(text):
                        owners |= by_case.get(case, set())
                for wid in owners:
                    events.setdefault(wid, []).append((str(occ["UID"]), start, end, buffer))
    found = set()
    for worker_id, their_collabs in collabs.items():
        for s in sessions:
            if s["collaborative_id"] not in their_collabs:
                continue
            s_start, s_end = datetime.fromisoformat(s["start"]), datetime.fromisoformat(s["end"])
            for uid, start, end, buffer in events.get(worker_id, []):
                t_start, t_end = start.timestamp(), (end or start).timestamp()
                a, b = s_start.timestamp(), s_end.timestamp()
                if end is None:
                    kind = "overlap" if a <= t_start < b else ("buffer" if a - buffer.total_seconds() <= t_start
                                                                < b + buffer.total_seconds() else None)
                elif t_start < b and a < t_end:
                    kind = "overlap"
                elif t_start < b + buffer.total_seconds() and a - buffer.total_seconds() < t_end:
                    kind = "buffer"
                else:
                    kind = None
                if kind:
                    found.add((worker_id, s["collaborative_id"], s_start.astimezone(UTC).isoformat(), uid,
                               start.astimezone(UTC).isoformat(), kind))
    return found


def scanned(folder: Path, run: Runner, first: date, last: date) -> set[tuple[str, ...]]:
    result = run("scan", "--config", folder / "courtsync.toml", "--from", first, "--to", last, "--format", "json",
                 "--as-of", AS_OF)
    assert result.exit_code in (0, 1), result.stderr
    data = json.loads(result.stdout)
    assert all(s["status"] == "ok" for s in data["sources"])
    return {(c["worker_id"], c["collaborative_id"], datetime.fromisoformat(c["session_start"]).astimezone(UTC)
             .isoformat(), c["event_uid"], datetime.fromisoformat(c["event_start"]).astimezone(UTC).isoformat(),
             c["kind"]) for c in data["conflicts"]}


def test_example_scan_equals_independent_computation(example_dir: Path, run: Runner) -> None:
    first, last = AS_OF, AS_OF + timedelta(days=240)
    mine = scanned(example_dir, run, first, last)
    assert len(mine) >= 9
    assert mine == independent(example_dir, run, first, last)


@pytest.mark.parametrize("seed", [3, 11])
def test_generated_scan_equals_independent_computation(tmp_path: Path, run: Runner, seed: int) -> None:
    folder = tmp_path / f"gen{seed}"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "generate.py"), str(folder), "--scale", "0.02",
                    "--seed", str(seed)], check=True, capture_output=True)
    first, last = AS_OF, AS_OF + timedelta(days=183)
    mine = scanned(folder, run, first, last)
    assert len(mine) > 20
    assert mine == independent(folder, run, first, last)
