"""A `courtsync sync` of many feeds killed (SIGKILL) at 20 seeded random moments: after each kill the store
opens whole, and a rerun gives exactly what a clean sync gives."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import sqlite3
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from courtsync.cli import cli
from tests.conftest import Run
from tests.test_sync_events import cfg

Runner = Callable[..., Run]
SEED = 20261123
KILLS = 20
FEEDS = 9          # from 8 sources on, sync reads in reader processes: those are killed with it
EVENTS = 80        # per feed


def feed(k: int, version: int) -> str:
    """A court feed: hearings on business days from December on, a weekly status call; version 2 moves and
    renames some, drops a few and adds others (never so many that the read is held)."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//courtsync tests//killed sync//EN"]
    start = datetime(2026, 12, 1, 15, tzinfo=UTC)
    for i in range(EVENTS + (5 if version == 2 else 0)):
        if version == 2 and i % 17 == 3:
            continue
        at = start + timedelta(days=i // 3, hours=i % 3) + (timedelta(minutes=30) if version == 2 and i % 5 == 0
                                                             else timedelta(0))
        lines += ["BEGIN:VEVENT", f"UID:f{k}-{i}@court.example", "DTSTAMP:20261101T120000Z",
                  f"DTSTART:{at:%Y%m%dT%H%M%SZ}", f"DTEND:{at + timedelta(minutes=45):%Y%m%dT%H%M%SZ}",
                  f"SUMMARY:2026-JA-{k:02d}{i:04d} {'Status Hearing' if version == 1 else 'Permanency Hearing'}",
                  "END:VEVENT"]
    lines += ["BEGIN:VEVENT", f"UID:f{k}-weekly@court.example", "DTSTAMP:20261101T120000Z",
              "DTSTART:20261201T200000Z", "DTEND:20261201T203000Z", f"RRULE:FREQ=WEEKLY;COUNT={10 * version}",
              "SUMMARY:Status call", "END:VEVENT", "END:VCALENDAR"]
    return "\r\n".join(lines) + "\r\n"


def write_feeds(d: Path, version: int) -> None:
    for k in range(FEEDS):
        (d / "feeds" / f"f{k}.ics").write_text(feed(k, version))


def state(run: Runner, d: Path) -> dict[str, Any]:
    """What the store answers, without what differs between two syncs (when they ran)."""
    result = run("events", *cfg(d), "--offline", "--all", "--format", "json")
    data = json.loads(result.stdout)
    for s in data["sources"]:
        s.pop("synced_at")
    return {"code": result.exit_code, **data}


def assert_whole(d: Path) -> None:
    for name in ("courtsync.db", "courtsync.cache.db"):
        if not (d / name).exists():
            continue
        db = sqlite3.connect(d / name)
        try:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        finally:
            db.close()


def drop_store(d: Path) -> None:
    for name in ("courtsync.db", "courtsync.cache.db"):
        for suffix in ("", "-wal", "-shm"):
            (d / f"{name}{suffix}").unlink(missing_ok=True)


def sync_process(d: Path) -> int:
    """`courtsync sync` in a child process of its own group (it and its reader processes die together). Forked
    from this one rather than started afresh, so that the kills land in the sync, not in Python's start-up."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)   # fork with threads: the child only runs the CLI
        pid = os.fork()
    if pid == 0:   # the child: never returns
        code = 70
        try:
            os.setpgid(0, 0)
            quiet = os.open(os.devnull, os.O_WRONLY)
            os.dup2(quiet, 1)
            os.dup2(quiet, 2)
            cli(["sync", *cfg(d)], prog_name="courtsync")
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        finally:
            os._exit(code)
    with contextlib.suppress(OSError):   # set on both sides, so a kill right after the fork finds the group
        os.setpgid(pid, pid)
    return pid


def wait(pid: int) -> int:
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def test_a_sync_killed_at_random_moments_leaves_a_store_that_opens_and_converges(example_dir: Path,
                                                                                 run: Runner) -> None:
    toml = example_dir / "courtsync.toml"
    names = ", ".join(f'"feeds/f{k}.ics"' for k in range(FEEDS))
    toml.write_text(toml.read_text().replace('feeds = ["feeds/will-juvenile.ics"]', f"feeds = [{names}]"))
    clean: dict[int, dict[str, Any]] = {}
    took = []
    for version in (1, 2):   # what a clean sync of each version gives
        drop_store(example_dir)
        write_feeds(example_dir, version)
        started = time.monotonic()
        assert wait(sync_process(example_dir)) == 0
        took.append(time.monotonic() - started)
        clean[version] = state(run, example_dir)
        assert clean[version]["code"] == 0 and len(clean[version]["events"]) > FEEDS * EVENTS
    assert clean[1]["events"] != clean[2]["events"]
    ended: list[int] = []
    rng = random.Random(SEED)
    drop_store(example_dir)
    for kill in range(KILLS):
        version = 1 + kill % 2   # each sync has work to do: the store holds the other version (or nothing)
        write_feeds(example_dir, version)
        pid = sync_process(example_dir)
        time.sleep(rng.uniform(0.0, 0.8 * min(took)))
        with contextlib.suppress(ProcessLookupError):   # (it may have just set up its group, or ended)
            os.killpg(pid, signal.SIGKILL)   # the sync and its reader processes, at once
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        ended.append(wait(pid))
        if (example_dir / "courtsync.db").exists():
            assert_whole(example_dir)
        rerun = run("sync", *cfg(example_dir))
        assert rerun.exit_code == 0, f"kill {kill}: {rerun.stdout}{rerun.stderr}"
        assert state(run, example_dir) == clean[version], f"kill {kill}: the rerun differs from a clean sync"
    assert ended.count(-signal.SIGKILL) >= KILLS // 4, ended   # the kills landed in the sync, not after it
