"""A reader that stops early (`courtsync scan | head`) cuts the output, not the answer: scan, check and events
keep the exit code their answer carries (1 conflicts, 3 incomplete); listings exit 0. Never a traceback."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

from tests.conftest import ROOT
from tests.test_new_user import COURTSYNC

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
QUIET_FAILURES = ("Traceback", "Exception ignored", "BrokenPipe")


def many_hearings(example_dir: Path, n: int = 1000) -> None:
    """w01's case in n hearings on a cook-north session day: n conflicts, far more output than a pipe holds."""
    feed = example_dir / "feeds" / "cook-cpd.ics"
    events = "".join(f"BEGIN:VEVENT\r\nUID:many-{i}\r\nDTSTAMP:20261123T060000Z\r\n"
                     f"DTSTART;TZID=America/Chicago:20261216T{10 + i % 5:02d}0000\r\n"
                     f"DTEND;TZID=America/Chicago:20261216T{10 + i % 5:02d}3000\r\n"
                     f"SUMMARY:2026-JA-001187 Hearing {i}\r\nEND:VEVENT\r\n" for i in range(n))
    feed.write_bytes(feed.read_bytes().replace(b"END:VCALENDAR", events.encode() + b"END:VCALENDAR"))


def a_feed_missing(example_dir: Path) -> None:
    toml = example_dir / "courtsync.toml"
    old = 'feeds = ["feeds/will-juvenile.ics"]'
    assert old in toml.read_text()
    toml.write_text(toml.read_text().replace(old, 'feeds = ["feeds/will-juvenile.ics", "feeds/gone.ics"]'))


def into_a_reader_that_leaves(example_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`set -o pipefail; courtsync ARGS | true`: the exit code is courtsync's. The reader reads nothing and
    leaves, so output larger than a pipe holds (64 KiB) is sure to meet a closed pipe."""
    command = shlex.join([*COURTSYNC, *args, "--config", str(example_dir / "courtsync.toml"), "--as-of",
                          "2026-11-23"])
    return subprocess.run(["bash", "-c", f"set -o pipefail; {command} | true"], capture_output=True,
                          text=True, timeout=120, env=ENV)


def reader_closed_at_once(example_dir: Path, *args: str) -> tuple[int, str]:
    """The reader is gone before a byte is written: (exit code, stderr)."""
    proc = subprocess.Popen([*COURTSYNC, *args, "--config", str(example_dir / "courtsync.toml"), "--as-of",
                             "2026-11-23"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    with proc.stderr:
        stderr = proc.stderr.read().decode()
    return proc.wait(timeout=120), stderr


def test_scan_into_a_pipe_closed_early_keeps_exit_1_for_conflicts(example_dir: Path) -> None:
    many_hearings(example_dir)
    done = into_a_reader_that_leaves(example_dir, "scan", "--format", "json", "--to", "2027-06-30")
    assert done.returncode == 1, done.stderr
    assert not any(s in done.stderr for s in QUIET_FAILURES), done.stderr


def test_events_into_a_pipe_closed_early_keeps_exit_3_when_a_source_was_not_read(example_dir: Path) -> None:
    many_hearings(example_dir)
    a_feed_missing(example_dir)
    done = into_a_reader_that_leaves(example_dir, "events", "--format", "csv")
    assert done.returncode == 3, done.stderr
    assert not any(s in done.stderr for s in QUIET_FAILURES), done.stderr
    assert "will-juv#2" in done.stderr       # the reason for the 3 is still told, on stderr


def test_check_with_its_reader_gone_keeps_its_answer(example_dir: Path) -> None:
    code, stderr = reader_closed_at_once(example_dir, "check", "--worker", "w01", "--date", "2026-12-16")
    assert code == 1 and not any(s in stderr for s in QUIET_FAILURES), stderr
    a_feed_missing(example_dir)   # a court feed of w01's court unread: a free date is unknown
    code, stderr = reader_closed_at_once(example_dir, "check", "--worker", "w01", "--date", "2026-12-21")
    assert code == 3 and not any(s in stderr for s in QUIET_FAILURES), stderr


def test_a_listing_with_its_reader_gone_still_exits_0(example_dir: Path) -> None:
    many_hearings(example_dir)
    for args in (("dates", "--all"), ("notices", "--log")):
        code, stderr = reader_closed_at_once(example_dir, *args)
        assert code == 0 and not any(s in stderr for s in QUIET_FAILURES), (args, stderr)
