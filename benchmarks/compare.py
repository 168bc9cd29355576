"""This checkout's benchmarks beside an earlier revision's, measured in one run, old and new interleaved.

    python benchmarks/compare.py [--old 25d4a36] [--rounds 3] [--checks 20] [--scale 1.0] [--json out.json]

"old" is REV (default: the merge-base of HEAD with main), checked out once as a git worktree in
benchmarks/.old-<commit> (gitignored; reused by later runs; `git worktree remove benchmarks/.old-<commit>`
drops it). "new" is this checkout, uncommitted changes included. Both run as the `courtsync` script pip
installs (a copy in benchmarks/data: what a person runs; `python -m courtsync` starts reader processes
differently), with this same interpreter and PYTHONPATH set to their own root, so no second environment is
needed; the script shows which courtsync each side imports and stops if it is not its own. Bytecode is
compiled first, and is on.

Both sides work on copies of the same generated data set (benchmarks/generate.py, state scale unless
--scale). Each round, on fresh copies and with old and new taking turns at every step (the side that goes
first alternates by round): a cold sync, an unchanged re-sync, the same 2% of events changed in both copies
and a re-sync, a statewide `scan`, then `check` for --checks (worker, date) pairs, the same pairs for both.
The first `check` after the sync is reported apart (it may validate and cache the roster). Peak memory is
each child's own peak RSS (wait4), the maximum over its runs. Old and new must agree on every check's exit
code and on the number of conflicts the scan finds; a disagreement is printed.

The table gives the old and new figure, new/old, the paired ratio (the median of new/old over runs made one
after the other: for the check median the same pick, for the other rows the same round), and
each side's range over the rounds (for `check`, of the per-round median or p90), so noise can be judged: the
verdict says "slower" or "faster" only when the two ranges do not overlap.
With the defaults (state scale, 3 rounds, 20 checks) a run took 3–5 minutes on a shared 2-core machine
(load 3–4); --rounds 5 --checks 40, for the published figures, took 13 minutes at load 5–7; --scale 0.2 gives
a quick look.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import AS_OF, ENV, HERE, Run, change_two_percent, check_picks, ensure_data, run, working_copy  # noqa: E402

ROOT = HERE.parent


@dataclass
class Side:
    """One revision under test: where its code is, the environment that imports it, its figures per round."""

    name: str
    root: Path
    env: dict[str, str] = field(default_factory=dict)
    rounds: list[dict[str, float]] = field(default_factory=list)
    checks: list[float] = field(default_factory=list)

    def courtsync(self, *args: str) -> list[str]:
        return [sys.executable, str(SCRIPT), *args]


# The console script pip writes for `courtsync = "courtsync.cli:main"`, run with this interpreter.
SCRIPT = HERE / "data" / "bin" / "courtsync"
SCRIPT_TEXT = "import sys\nfrom courtsync.cli import main\nif __name__ == '__main__':\n    sys.exit(main())\n"


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()


def old_commit(rev: str | None) -> str:
    """The full commit of REV, or of the merge-base of HEAD with main."""
    if rev is None:
        try:
            return git("merge-base", "HEAD", "main")
        except subprocess.CalledProcessError as e:
            raise SystemExit("no merge-base with main: give --old REV") from e
    try:
        return git("rev-parse", "--verify", f"{rev}^{{commit}}")
    except subprocess.CalledProcessError as e:
        raise SystemExit(f"--old {rev}: not a commit here") from e


def old_worktree(commit: str) -> Path:
    """A git worktree of COMMIT under benchmarks/.old-<commit>, made once and reused."""
    path = HERE / f".old-{commit[:10]}"
    if not path.exists():
        git("worktree", "add", "--detach", str(path), commit)
    elif subprocess.run(["git", "rev-parse", "HEAD"], cwd=path, capture_output=True, text=True).stdout.strip() \
            != commit:
        raise SystemExit(f"{path} is not at {commit}: remove it (git worktree remove --force {path})")
    return path


def prepared(name: str, root: Path, cwd: Path) -> Side:
    """A side whose children import the courtsync under ROOT (checked), with its bytecode compiled."""
    env = {**ENV, "PYTHONPATH": str(root)}
    side = Side(name, root, env)
    SCRIPT.parent.mkdir(parents=True, exist_ok=True)
    SCRIPT.write_text(SCRIPT_TEXT)
    shown = run([sys.executable, "-c", "import courtsync; print(courtsync.__file__)"], cwd, env)
    imported = Path(shown.stdout.strip()).resolve()
    if not imported.is_relative_to((root / "courtsync").resolve()):
        raise SystemExit(f"{name}: imports {imported or shown.stderr}, not the courtsync under {root}")
    print(f"{name}: {imported}")
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(root / "courtsync")], env=env, check=True)
    return side


def ran(side: Side, work: Path, figures: dict[str, float], key: str, *args: str, codes: tuple[int, ...] = (0,)) -> Run:
    """Run one courtsync command for SIDE in WORK; keep its seconds under KEY and its peak under its command."""
    result = run(side.courtsync(*args), work, side.env)
    if result.returncode not in codes:
        raise SystemExit(f"{side.name}: courtsync {' '.join(args)} exited {result.returncode}:\n"
                         f"{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    figures[key] = result.seconds
    peak = f"peak {args[0]}"
    figures[peak] = max(figures.get(peak, 0.0), result.peak_mb)
    return result


def one_round(sides: list[Side], data: Path, seed: int, checks: int) -> None:
    """One round on fresh copies of DATA, the sides taking turns at each step (in the order given)."""
    works = {s.name: working_copy(data, f"compare-{s.name}") for s in sides}
    figures: dict[str, dict[str, float]] = {s.name: {} for s in sides}
    steps = [("cold sync", ("sync", "--as-of", AS_OF)), ("re-sync, unchanged", ("sync", "--as-of", AS_OF))]
    for key, args in steps:
        for s in sides:
            ran(s, works[s.name], figures[s.name], key, *args)
    for s in sides:
        change_two_percent(sorted((works[s.name] / "feeds").glob("*.ics")), random.Random(seed))
    conflicts = {}
    for s in sides:
        ran(s, works[s.name], figures[s.name], "re-sync after 2%", "sync", "--as-of", AS_OF)
    for s in sides:
        scan = ran(s, works[s.name], figures[s.name], "scan", "scan", "--format", "json", "--as-of", AS_OF,
                   codes=(0, 1))
        conflicts[s.name] = len(json.loads(scan.stdout)["conflicts"])
    if len(set(conflicts.values())) > 1:
        print(f"  ! the scans disagree: {conflicts} conflicts")
    times: dict[str, list[float]] = {s.name: [] for s in sides}
    for n, (worker, day) in enumerate(check_picks(data, random.Random(seed), checks + 1)):
        codes = {}
        for s in sides:
            result = ran(s, works[s.name], figures[s.name], "check", "check", "--worker", worker, "--date", day,
                         "--as-of", AS_OF, codes=(0, 1))
            codes[s.name] = result.returncode
            if n == 0:
                figures[s.name]["check, first after sync"] = result.seconds
            else:
                times[s.name].append(result.seconds)
        if len(set(codes.values())) > 1:
            print(f"  ! check --worker {worker} --date {day} exits differ: {codes}")
    for s in sides:
        f = figures[s.name]
        del f["check"]
        f["check, median"] = statistics.median(times[s.name])
        f["check, p90"] = p90(times[s.name])
        f["re-sync after 2% / cold"] = f["re-sync after 2%"] / f["cold sync"]
        f["scan conflicts"] = conflicts[s.name]
        s.rounds.append(f)
        s.checks += times[s.name]
        print(f"  {s.name}: cold {f['cold sync']:.2f} s, unchanged {f['re-sync, unchanged']:.2f} s, "
              f"2% {f['re-sync after 2%']:.2f} s ({f['re-sync after 2% / cold']:.1%}), scan {f['scan']:.2f} s, "
              f"check median {f['check, median'] * 1000:.0f} ms p90 {f['check, p90'] * 1000:.0f} ms, "
              f"peak sync {f['peak sync']:.0f} MB")
    for work in works.values():
        shutil.rmtree(work, ignore_errors=True)


def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10, method="inclusive")[-1] if len(values) > 1 else values[0]


# (label, figure key, unit, scale): how each row of the table is shown.
ROWS = [
    ("check, median", "check, median", "ms", 1000), ("check, p90", "check, p90", "ms", 1000),
    ("check, first after sync", "check, first after sync", "ms", 1000),
    ("cold sync", "cold sync", "s", 1), ("re-sync, unchanged", "re-sync, unchanged", "s", 1),
    ("re-sync after 2% changed", "re-sync after 2%", "s", 1),
    ("re-sync after 2% / cold sync", "re-sync after 2% / cold", "%", 100),
    ("statewide scan", "scan", "s", 1),
    ("peak RSS, sync", "peak sync", "MB", 1), ("peak RSS, scan", "peak scan", "MB", 1),
    ("peak RSS, check", "peak check", "MB", 1),
]


def summary(side: Side, key: str) -> tuple[float, float, float]:
    """The figure for KEY over all rounds (peaks: the maximum; check: over every run), and its round range."""
    per_round = [r[key] for r in side.rounds]
    if key.startswith("peak"):
        value = max(per_round)
    elif key == "check, median":
        value = statistics.median(side.checks)
    elif key == "check, p90":
        value = p90(side.checks)
    else:
        value = statistics.median(per_round)
    return value, min(per_round), max(per_round)


def paired(old: Side, new: Side, key: str) -> float:
    """The median of new/old over runs that ran side by side (for the check median: the same pick, one after
    the other; else the same round), which cancels the machine's load drifting better than a ratio of medians."""
    if key == "check, median":
        return statistics.median(n / o for o, n in zip(old.checks, new.checks, strict=True))
    return statistics.median(n[key] / o[key] for o, n in zip(old.rounds, new.rounds, strict=True))


def verdict(old: tuple[float, float, float], new: tuple[float, float, float], key: str) -> str:
    ratio = new[0] / old[0]
    if key.startswith("peak"):
        return "more" if ratio > 1.05 else "less" if ratio < 0.95 else "same"
    if new[1] > old[2]:
        return "slower"
    if new[2] < old[1]:
        return "faster"
    return "within noise"


def table(old: Side, new: Side) -> list[dict[str, object]]:
    header = (f"{'metric':<34} {'old':>9} {'new':>9} {'new/old':>8} {'paired':>7}   {'old range':>15} "
              f"{'new range':>15}   verdict")
    print(header + "\n" + "-" * len(header))
    rows = []
    for label, key, unit, scale in ROWS:
        o, n = summary(old, key), summary(new, key)
        fmt = "{:.0f}" if unit in ("ms", "MB") else "{:.1f}" if unit == "%" else "{:.2f}"

        def show(v: tuple[float, float, float], fmt: str = fmt, scale: float = scale) -> tuple[str, str]:
            return fmt.format(v[0] * scale), f"{fmt.format(v[1] * scale)}–{fmt.format(v[2] * scale)}"

        (ov, orange), (nv, nrange) = show(o), show(n)
        word, pair = verdict(o, n, key), paired(old, new, key)
        print(f"{label + ' (' + unit + ')':<34} {ov:>9} {nv:>9} {n[0] / o[0]:>8.2f} {pair:>7.2f}   {orange:>15} "
              f"{nrange:>15}   {word}")
        rows.append({"metric": label, "unit": unit, "old": o[0] * scale, "new": n[0] * scale, "ratio": n[0] / o[0],
                     "paired_ratio": pair,
                     "old_range": [o[1] * scale, o[2] * scale], "new_range": [n[1] * scale, n[2] * scale],
                     "verdict": word})
    return rows


def describe(commit: str, data: Path, args: argparse.Namespace) -> dict[str, object]:
    dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    feeds = sorted((data / "feeds").glob("*.ics"))
    about = {"when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "old": commit,
             "new": git("rev-parse", "HEAD") + (" + uncommitted changes" if dirty else ""),
             "python": f"{platform.python_implementation()} {platform.python_version()}",
             "machine": f"{os.cpu_count()} cores, load {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
             "data": f"scale {args.scale}: {len(feeds)} feeds, "
                     f"{sum(f.read_bytes().count(b'BEGIN:VEVENT') for f in feeds)} events, "
                     f"{len((data / 'workers.csv').read_text().splitlines()) - 1} staff",
             "rounds": args.rounds, "checks per round": args.checks}
    for key, value in about.items():
        print(f"{key + ':':<18}{value}")
    return about


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", help="the earlier revision (default: the merge-base of HEAD with main)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, each on fresh copies (default 3)")
    parser.add_argument("--checks", type=int, default=20, help="timed `check` runs per side per round (default 20)")
    parser.add_argument("--scale", type=float, default=1.0, help="data set size (1.0 = state scale, product.md)")
    parser.add_argument("--json", type=Path, help="also write the figures there")
    args = parser.parse_args()
    if args.rounds < 1 or args.checks < 2:
        parser.error("--rounds must be at least 1 and --checks at least 2")
    data = HERE / "data" / ("state" if args.scale == 1.0 else f"state-{args.scale:g}")
    ensure_data(data, scale=args.scale)
    commit = old_commit(args.old)
    about = describe(commit, data, args)
    old = prepared("old", old_worktree(commit), data)
    new = prepared("new", ROOT, data)
    for n in range(args.rounds):
        print(f"round {n + 1} of {args.rounds}")
        one_round([old, new] if n % 2 == 0 else [new, old], data, 3 + n, args.checks)
    print()
    rows = table(old, new)
    print(f"(load now {' '.join(f'{x:.2f}' for x in os.getloadavg())})")
    if args.json:
        args.json.write_text(json.dumps({**about, "table": rows, "rounds": {"old": old.rounds, "new": new.rounds},
                                         "checks": {"old": old.checks, "new": new.checks}}, indent=1) + "\n")


if __name__ == "__main__":
    main()
