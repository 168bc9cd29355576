"""Generate the state-scale data set of product.md (deterministic for a seed).

10,000 staff (1,700 supervisors), 250 collaboratives, 100 courts whose feeds publish 60,000
hearings over six months, and a caseload linking cases to workers and courts.

    python benchmarks/generate.py benchmarks/data/state [--as-of 2026-11-23] [--seed 7]
"""

from __future__ import annotations

import argparse
import calendar
import random
from datetime import date, datetime, timedelta
from pathlib import Path

STAFF = 10_000
SUPERVISORS = 1_700
ADMINISTRATORS = 50
COLLABORATIVES = 250
COURTS = 100
HEARINGS = 60_000
MONTHS = 6
REGIONS = ["Cook", "Collar", "Northern", "Central", "Southern", "East St. Louis", "Peoria", "Rockford",
           "Springfield", "Champaign"]
FIRST = ["Ana", "Ben", "Carla", "Dev", "Elena", "Femi", "Grace", "Hugo", "Ines", "Jamal", "Kira", "Luis",
         "Maya", "Noor", "Omar", "Priya", "Quinn", "Rosa", "Sam", "Tariq", "Uma", "Victor", "Wen", "Yusuf"]
LAST = ["Adams", "Baker", "Castro", "Diaz", "Evans", "Fischer", "Garcia", "Hughes", "Ito", "Jones", "Khan",
        "Lopez", "Moore", "Nguyen", "Okafor", "Patel", "Reyes", "Smith", "Tran", "Usman", "Vargas", "Wong"]
KINDS = ["Permanency Hearing", "Status Hearing", "Adjudicatory Hearing", "Dispositional Hearing",
         "Temporary Custody Hearing", "Case Management Conference"]


def nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    days = [d for d in calendar.Calendar().itermonthdates(year, month) if d.month == month and d.weekday() == weekday]
    return days[n - 1]


def month_after(d: date, k: int) -> tuple[int, int]:
    i = d.year * 12 + d.month - 1 + k
    return i // 12, i % 12 + 1


def write_config(out: Path, rng: random.Random, as_of: date) -> list[dict[str, object]]:
    collabs = []
    for i in range(COLLABORATIVES):
        kind = ("regional" if i < COLLABORATIVES * 0.08 else "training-center" if i < COLLABORATIVES * 0.8
                else "affinity-group")
        every = {"regional": 4, "training-center": 2, "affinity-group": 1}[kind]
        y, m = month_after(as_of, 1 + i % every)
        first = nth_weekday(y, m, rng.choice([1, 2, 3]), rng.randint(1, 4))
        collabs.append({"id": f"lc-{i:03d}", "kind": kind, "region": REGIONS[i % len(REGIONS)], "first": first,
                        "every": every, "start": "09:00:00" if kind != "affinity-group" else "13:00:00",
                        "end": "16:00:00" if kind != "affinity-group" else "15:00:00"})
    until = date(*month_after(as_of, 13), 1)
    lines = ['timezone = "America/Chicago"', 'holidays = "US-IL"', 'buffer = "60m"', 'store = "courtsync.db"',
             "", "[roster]", 'workers = "workers.csv"', 'caseload = "caseload.csv"', ""]
    for c in collabs:
        lines += ["[[collaborative]]", f'id = "{c["id"]}"', f'name = "{c["region"]} {c["kind"]} {c["id"]}"',
                  f'kind = "{c["kind"]}"', f'region = "{c["region"]}"', f"first_session = {c['first']}",
                  f"every = {c['every']}", f"until = {until}", f"start = {c['start']}", f"end = {c['end']}", ""]
    for k in range(COURTS):
        lines += ["[[court]]", f'id = "court-{k:03d}"', f'name = "Circuit Court {k:03d}, Juvenile Division"',
                  f'address = ["{100 + k} Main St.", "Springfield, IL 62701"]',
                  f'email = "clerk{k:03d}@courts.example"', f'feeds = ["feeds/court-{k:03d}.ics"]',
                  "case_pattern = '\\d{4}-J[AD]-\\d{6}'", ""]
    (out / "courtsync.toml").write_text("\n".join(lines))
    return collabs


def write_roster(out: Path, rng: random.Random, collabs: list[dict[str, object]]) -> list[tuple[str, str, str]]:
    regional = [c for c in collabs if c["kind"] == "regional"]
    centers = [c for c in collabs if c["kind"] == "training-center"]
    affinity = [c for c in collabs if c["kind"] == "affinity-group"]
    rows = ["id,name,email,role,office,supervisor_id,collaboratives"]
    admins = [f"a{i:04d}" for i in range(ADMINISTRATORS)]
    sups = [f"s{i:04d}" for i in range(SUPERVISORS)]
    workers = [f"w{i:05d}" for i in range(STAFF - SUPERVISORS - ADMINISTRATORS)]

    def person(pid: str, role: str, boss: str) -> str:
        region = rng.choice(REGIONS)
        mine = [rng.choice([c for c in regional if c["region"] == region] or regional),
                rng.choice([c for c in centers if c["region"] == region] or centers)]
        if rng.random() < 0.2:
            mine.append(rng.choice(affinity))
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        return (f"{pid},{name},{pid}@agency.example,{role},{region} office,{boss},"
                + ";".join(str(c["id"]) for c in mine))

    rows += [person(a, "administrator", "") for a in admins]
    rows += [person(s, "supervisor", rng.choice(admins)) for s in sups]
    rows += [person(w, "caseworker", sups[i % SUPERVISORS]) for i, w in enumerate(workers)]
    (out / "workers.csv").write_text("\n".join(rows) + "\n")
    cases = []
    for i, w in enumerate(workers):
        for j in range(3):
            cases.append((f"{2024 + (i + j) % 3}-JA-{i * 3 + j:06d}", w, f"court-{rng.randrange(COURTS):03d}"))
    (out / "caseload.csv").write_text("case_number,worker_id,court_id\n"
                                      + "".join(f"{a},{b},{c}\n" for a, b, c in cases))
    return cases


def write_feeds(out: Path, rng: random.Random, cases: list[tuple[str, str, str]], as_of: date) -> None:
    feeds = out / "feeds"
    feeds.mkdir(exist_ok=True)
    by_court: dict[str, list[tuple[str, str, str]]] = {}
    for case in cases:
        by_court.setdefault(case[2], []).append(case)
    days = [as_of + timedelta(days=d) for d in range(1, MONTHS * 31) if (as_of + timedelta(days=d)).weekday() < 5]
    stamp = datetime.combine(as_of, datetime.min.time()).strftime("%Y%m%dT%H%M%SZ")
    per_court = HEARINGS // COURTS
    for k in range(COURTS):
        court = f"court-{k:03d}"
        mine = by_court.get(court, [])
        parts = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//courtsync benchmark//EN", "CALSCALE:GREGORIAN",
                 f"X-WR-CALNAME:{court} hearings"]
        for n in range(per_court):
            case_number, worker, _ = rng.choice(mine)
            day = rng.choice(days)
            start = datetime.combine(day, datetime.min.time()) + timedelta(minutes=rng.randrange(8 * 60, 16 * 60, 15))
            end = start + timedelta(minutes=rng.choice([15, 30, 45, 60, 90, 120]))
            parts += ["BEGIN:VEVENT", f"UID:{court}-{n:05d}@courts.example", f"DTSTAMP:{stamp}",
                      f"DTSTART;TZID=America/Chicago:{start:%Y%m%dT%H%M%S}",
                      f"DTEND;TZID=America/Chicago:{end:%Y%m%dT%H%M%S}",
                      f"SUMMARY:{case_number} {rng.choice(KINDS)}",
                      f"LOCATION:Courtroom {rng.randint(1, 12)}", "STATUS:CONFIRMED"]
            if rng.random() < 0.1:
                parts.append(f"ATTENDEE;CN=Caseworker:mailto:{worker}@agency.example")
            parts.append("END:VEVENT")
        parts.append("END:VCALENDAR")
        (feeds / f"{court}.ics").write_bytes(("\r\n".join(parts) + "\r\n").encode())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 11, 23))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-feeds", action="store_true", help="Config and roster only.")
    parser.add_argument("--scale", type=float, default=1.0, help="Shrink everything (0.02 = a test-sized set).")
    args = parser.parse_args()
    if args.scale != 1.0:
        global STAFF, SUPERVISORS, ADMINISTRATORS, COLLABORATIVES, COURTS, HEARINGS
        STAFF, SUPERVISORS = max(40, int(STAFF * args.scale)), max(6, int(SUPERVISORS * args.scale))
        ADMINISTRATORS, COLLABORATIVES = max(2, int(ADMINISTRATORS * args.scale)), max(25, int(250 * args.scale))
        COURTS, HEARINGS = max(3, int(COURTS * args.scale)), max(300, int(HEARINGS * args.scale))
    args.out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    collabs = write_config(args.out, rng, args.as_of)
    cases = write_roster(args.out, rng, collabs)
    if not args.no_feeds:
        write_feeds(args.out, rng, cases, args.as_of)
    print(f"wrote {args.out}: {STAFF} staff, {COLLABORATIVES} collaboratives, {COURTS} courts, "
          f"{len(cases)} cases" + ("" if args.no_feeds else f", {HEARINGS} hearings"))


if __name__ == "__main__":
    main()
