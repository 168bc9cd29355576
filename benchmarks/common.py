"""What the benchmark scripts share: where they are, how they run courtsync, the data set."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
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


def ensure_data(folder: Path, feeds: bool = True) -> None:
    """Generate the state-scale data set (benchmarks/generate.py) unless it is there."""
    if not (folder / ("feeds" if feeds else "courtsync.toml")).exists():
        subprocess.run([sys.executable, str(HERE / "generate.py"), str(folder), *([] if feeds else ["--no-feeds"])],
                       check=True)


def working_copy(data: Path, name: str) -> Path:
    """A fresh copy of the data set under benchmarks/data/NAME (without its store), for a run that changes it."""
    work = HERE / "data" / name
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(data, work, ignore=shutil.ignore_patterns("courtsync.db*", "courtsync.cache.db*"))
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
