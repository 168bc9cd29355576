"""What the benchmark scripts share: where they are, how they run courtsync, the data set."""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
AS_OF = "2026-11-23"
# Time courtsync as installed: with compiled bytecode (some environments set PYTHONDONTWRITEBYTECODE).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def courtsync() -> list[str]:
    exe = shutil.which("courtsync")
    return [exe] if exe else [sys.executable, "-m", "courtsync"]


def timed(args: list[str], cwd: Path) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=ENV)
    return time.perf_counter() - start, proc


@dataclass(frozen=True)
class Run:
    """One finished child process: its wall seconds, exit code, output and peak resident memory."""

    seconds: float
    returncode: int
    stdout: str
    stderr: str
    peak_mb: float


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> Run:
    """Run a child and measure it alone: wait4 gives this child's own peak RSS (and that of the children it
    waited for, such as forked readers), where RUSAGE_CHILDREN would give the peak over every child so far."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(args, cwd=cwd, stdout=out, stderr=err, env=ENV if env is None else env)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Run(seconds, proc.returncode, out.read().decode(errors="replace"), err.read().decode(errors="replace"),
                   usage.ru_maxrss / 1024)


def ensure_data(folder: Path, feeds: bool = True, scale: float = 1.0) -> None:
    """Generate the state-scale data set (benchmarks/generate.py) unless it is there."""
    if not (folder / ("feeds" if feeds else "courtsync.toml")).exists():
        subprocess.run([sys.executable, str(HERE / "generate.py"), str(folder), *([] if feeds else ["--no-feeds"]),
                        *([] if scale == 1.0 else ["--scale", str(scale)])], check=True)


def change_two_percent(feeds: list[Path], rng: random.Random) -> int:
    """Change the summary of 2% of the events of every feed (at least one each); the number changed."""
    changed = 0
    for feed in feeds:
        text = feed.read_bytes().decode()
        events = [m.start() for m in re.finditer(r"SUMMARY:", text)]
        picks = set(rng.sample(range(len(events)), max(1, len(events) // 50)))
        parts, last = [], 0
        for n, pos in enumerate(events):
            if n in picks:
                parts.append(text[last:pos] + "SUMMARY:(rescheduled) ")
                last = pos + len("SUMMARY:")
                changed += 1
        parts.append(text[last:])
        feed.write_bytes("".join(parts).encode())
    return changed


def check_picks(folder: Path, rng: random.Random, count: int) -> list[tuple[str, str]]:
    """COUNT (worker, date) pairs for `check`: staff from the roster, weekdays of the next four months."""
    workers = [line.split(",", 1)[0] for line in (folder / "workers.csv").read_text().splitlines()[1:]]
    days = [str(date.fromisoformat(AS_OF) + timedelta(days=d)) for d in range(1, 120) if d % 7 not in (5, 6)]
    return [(rng.choice(workers), rng.choice(days)) for _ in range(count)]


def working_copy(data: Path, name: str) -> Path:
    """A fresh copy of the data set under benchmarks/data/NAME (without any store), for a run that changes it."""
    work = HERE / "data" / name
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(data, work, ignore=shutil.ignore_patterns("*.db", "*.db-*"))
    return work


def synced_copy(data: Path, name: str) -> Path:
    """A working copy (working_copy) with its store synced, for benchmarks of what comes after a sync."""
    work = working_copy(data, name)
    seconds, proc = timed([*courtsync(), "sync", "--as-of", AS_OF], work)
    if proc.returncode != 0:
        raise SystemExit(f"sync failed:\n{proc.stdout}\n{proc.stderr}")
    return work


def synced_state(description: str, name: str) -> Path:
    """For a benchmark of what comes after a sync: its command line (--data), the data set, a synced copy."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--data", type=Path, default=HERE / "data" / "state")
    data = parser.parse_args().data
    ensure_data(data)
    return synced_copy(data, name)
