"""Enrollment at state scale: 10,000 registrations into 250 cohorts, `courtsync enroll` against first come,
first served in the same run.

    python benchmarks/bench_enroll.py [--registrations 10000] [--cohorts 250] [--capacity 42] [--rounds 5]

Cohorts hold 42 (250 x 42 = 10,500 seats: 5% spare for 10,000 people, 40 a cohort on average). Choices are drawn
with a realistic skew: a person ranks sites of their own region first most of the time, and some sites are far
more popular than others (weights falling as 1/rank^0.8 within a region). Reported: wall time of the command
(start-up included, median of the rounds), peak memory, placed at 1st/2nd/3rd, unplaced, cohort sizes; the
same for first come, first served (registrations.csv's order) and the bound on first choices (the most first
choices any assignment can give, placing or not). Target: under 5 s.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import AS_OF, courtsync, run  # noqa: E402
from courtsync.core.enrollment import Registration, Solution, first_come  # noqa: E402

REGIONS = 10


def write_data(folder: Path, people: int, cohorts: int, capacity: int, seed: int) -> list[Registration]:
    rng = random.Random(seed)
    ids = [f"tc-{i:03d}" for i in range(cohorts)]
    lines = ['timezone = "America/Chicago"', "holidays = false", 'store = "enroll.db"', "",
             "[roster]", 'workers = "workers.csv"', ""]
    for i, cid in enumerate(ids):
        lines += ["[[collaborative]]", f'id = "{cid}"', f'name = "Training Center {i}"', 'kind = "training-center"',
                  f'region = "R{i % REGIONS}"', "first_session = 2027-01-20", "every = 2", "count = 9",
                  "start = 09:00:00", "end = 16:00:00", f"capacity = {capacity}", ""]
    (folder / "courtsync.toml").write_text("\n".join(lines))
    staff = ["id,name,email,role,office,supervisor_id,collaboratives"]
    staff += [f"p{n:05d},Person {n},p{n:05d}@agency.example,caseworker,Office {n % 300},," for n in range(people)]
    (folder / "workers.csv").write_text("\n".join(staff) + "\n")
    by_region = [[cid for i, cid in enumerate(ids) if i % REGIONS == r] for r in range(REGIONS)]
    weights = [[1 / (k + 1) ** 0.8 for k in range(len(sites))] for sites in by_region]
    regs, rows = [], ["worker_id,choice_1,choice_2,choice_3"]
    for n in range(people):
        home = rng.randrange(REGIONS)
        choices: list[str] = []
        while len(choices) < 3:
            region = home if rng.random() < 0.85 else rng.randrange(REGIONS)
            site = rng.choices(by_region[region], weights[region])[0]
            if site not in choices:
                choices.append(site)
        regs.append(Registration(f"p{n:05d}", tuple(choices)))
        rows.append(f"p{n:05d}," + ",".join(choices))
    (folder / "registrations.csv").write_text("\n".join(rows) + "\n")
    return regs


def describe(solution: Solution, people: int) -> dict[str, object]:
    ranks = [s.rank for s in solution.seats]
    sizes = list(solution.sizes.values())
    return {"first": ranks.count(1), "second": ranks.count(2), "third": ranks.count(3),
            "unplaced": ranks.count(None), "first_share": ranks.count(1) / people,
            "sizes": (min(sizes), round(statistics.fmean(sizes), 1), max(sizes))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--registrations", type=int, default=10_000)
    parser.add_argument("--cohorts", type=int, default=250)
    parser.add_argument("--capacity", type=int, default=42)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        regs = write_data(folder, args.registrations, args.cohorts, args.capacity, args.seed)
        caps: dict[str, int | None] = {f"tc-{i:03d}": args.capacity for i in range(args.cohorts)}
        command = [*courtsync(), "enroll", "--config", str(folder / "courtsync.toml"), "--as-of", AS_OF,
                   "--format", "json"]
        runs = [run(command, folder) for _ in range(args.rounds)]
        if runs[0].returncode not in (0, 1):
            raise SystemExit(f"enroll failed ({runs[0].returncode}): {runs[0].stderr}")
        outputs = {r.stdout for r in runs}
        body = json.loads(runs[0].stdout)
        from time import perf_counter

        start = perf_counter()
        greedy = first_come(regs, caps)
        greedy_seconds = perf_counter() - start
        from courtsync.solver import solve

        # The bound on first choices: everyone offered only their first choice; the most that can be placed.
        bound = solve([Registration(r.worker_id, r.choices[:1]) for r in regs], caps)
        most_firsts = sum(s.rank == 1 for s in bound.seats)
    s = body["summary"]
    n = args.registrations
    seconds = sorted(r.seconds for r in runs)
    print(f"{n} registrations, {args.cohorts} cohorts of capacity {args.capacity} "
          f"({args.cohorts * args.capacity - n} spare seats), {args.rounds} rounds")
    print(f"courtsync enroll: median {statistics.median(seconds):.2f} s (min {seconds[0]:.2f}, max {seconds[-1]:.2f}), "
          f"start-up included; peak {max(r.peak_mb for r in runs):.0f} MB; "
          f"same output every round: {len(outputs) == 1}")
    print(f"  optimal: 1st {s['first_choice']} ({s['first_choice'] / n:.1%}), 2nd {s['second_choice']}, "
          f"3rd {s['third_choice']}, unplaced {s['unplaced']}, sizes min/mean/max "
          f"{s['cohort_sizes']['min']}/{s['cohort_sizes']['mean']}/{s['cohort_sizes']['max']}")
    g = describe(greedy, n)
    print(f"  first come, first served ({greedy_seconds * 1000:.0f} ms): 1st {g['first']} ({g['first_share']:.1%}), "
          f"2nd {g['second']}, 3rd {g['third']}, unplaced {g['unplaced']}, sizes min/mean/max "
          f"{'/'.join(str(x) for x in g['sizes'])}")  # type: ignore[union-attr]
    print(f"  bound on first choices (placing or not): {most_firsts} ({most_firsts / n:.1%}); the optimum gives "
          f"{s['first_choice']} while placing {s['placed']} (every first choice beyond it would leave someone out)")


if __name__ == "__main__":
    main()
