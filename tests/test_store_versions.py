"""The store's two files over releases: a store of the previous release is migrated (records and calendar copies
kept), one of a newer release is refused, `db upgrade` says what it did, and the calendar cache may be deleted
or damaged at any time without a record lost."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from courtsync.store.schema import CACHE_LAYOUT, RECORDS_VERSION
from tests.conftest import AS_OF, FIXTURES, ROOT, Run
from tests.smtp_server import SmtpServer
from tests.test_outbox_faults import digest_args, smtp_table, with_smtp

pytestmark = pytest.mark.sqlite_only   # SQLite's files, their versions and migrations

Runner = Callable[..., Run]
RECORDS = ("outbox", "notices", "notice_letters", "digest_state", "published")
CACHE = ("derived", "sources", "groups", "items", "item_workers", "problems", "source_health")


def cfg(d: Path) -> list[str]:
    return ["--config", str(d / "courtsync.toml"), "--as-of", AS_OF.isoformat()]


def rows(path: Path, table: str) -> list[tuple[object, ...]]:
    db = sqlite3.connect(path)
    try:
        return db.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
    finally:
        db.close()


def version(path: Path) -> int:
    db = sqlite3.connect(path)
    try:
        return int(db.execute("PRAGMA user_version").fetchone()[0])
    finally:
        db.close()


def records(d: Path) -> dict[str, list[tuple[object, ...]]]:
    return {t: rows(d / "courtsync.db", t) for t in RECORDS}


def lived_in(d: Path, run: Runner) -> None:
    """A store with something of every kind: copies of every feed, a published calendar, a letter recorded as
    printed, and digests sent through the outbox."""
    assert run("sync", *cfg(d)).exit_code == 0
    assert run("dates", *cfg(d), "--worker", "w01", "--format", "ics").exit_code == 0
    assert run("notices", *cfg(d), "--print", "--out", d / "letters").exit_code == 0
    server = SmtpServer().start()
    try:
        sent = run(*digest_args(with_smtp(d, smtp_table(server))))
        assert sent.exit_code == 0 and "sent 5" in sent.stdout, sent.stderr
    finally:
        server.stop()
    assert all(records(d).values()), records(d)


def unlink_all(path: Path) -> None:
    for side in ("", "-wal", "-shm"):
        path.with_name(path.name + side).unlink(missing_ok=True)


def as_previous_release(d: Path, before_leases: bool = False) -> None:
    """Turn d's two files into the one file the previous release wrote, holding the same rows. With
    `before_leases`, in the shape of the releases before it: an outbox without leases, sources without location."""
    schema = (FIXTURES / "store" / "previous_release.sql").read_text()
    if before_leases:
        schema = re.sub(r"\n    claimed_by TEXT, lease_until REAL,[^\n]*", "", schema)
        schema = re.sub(r"owners_key TEXT,\n    location TEXT[^\n]*", "owners_key TEXT", schema)
    old = d / "old.db"
    db = sqlite3.connect(old)
    db.executescript(schema)
    for source, tables in ((d / "courtsync.db", RECORDS), (d / "courtsync.cache.db", CACHE)):
        db.execute("ATTACH DATABASE ? AS src", (str(source),))
        for table in tables:
            columns = ", ".join(r[1] for r in db.execute(f"PRAGMA main.table_info({table})"))
            db.execute(f"INSERT INTO main.{table} ({columns}) SELECT {columns} FROM src.{table}")
        db.commit()
        db.execute("DETACH DATABASE src")
    # The previous release also kept a feed's part index, which this one reads without: the migration drops it.
    db.execute("INSERT INTO part_indexes VALUES ('cook-cpd', x'00')")
    db.commit()
    db.close()
    unlink_all(d / "courtsync.db")
    unlink_all(d / "courtsync.cache.db")
    old.rename(d / "courtsync.db")


def events(run: Runner, d: Path) -> object:
    result = run("events", *cfg(d), "--offline", "--all", "--format", "json")
    assert result.exit_code == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["events"]
    return answer


def read_afresh(run: Runner, d: Path) -> object:
    """What `events` says, but for when each source was read."""
    answer = events(run, d)
    assert isinstance(answer, dict)
    for source in answer["sources"]:
        source.pop("synced_at")
    return answer


ATTENDANCE = ("signin_files", "signins", "signin_log", "makeups", "conflict_history", "certificates")


def test_a_store_of_the_previous_release_is_migrated_with_its_records_and_copies(example_dir: Path,
                                                                                 run: Runner) -> None:
    lived_in(example_dir, run)
    before, kept, copies = events(run, example_dir), records(example_dir), rows(example_dir / "courtsync.cache.db",
                                                                                "items")
    as_previous_release(example_dir)
    assert version(example_dir / "courtsync.db") == 0 and not (example_dir / "courtsync.cache.db").exists()
    assert events(run, example_dir) == before   # the first command answers from the copies it moved
    assert records(example_dir) == kept
    assert rows(example_dir / "courtsync.cache.db", "items") == copies
    assert version(example_dir / "courtsync.db") == RECORDS_VERSION
    db = sqlite3.connect(example_dir / "courtsync.db")
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    db.close()
    assert tables == {*RECORDS, "enrollments", "enrollment_log", *ATTENDANCE}   # the copies left the records file
    log = json.loads(run("notices", *cfg(example_dir), "--log", "--format", "json").stdout)["notices"]
    assert {e["court"] for e in log} == {"cook-cpd", "will-juv"}


def test_a_store_from_before_leases_and_locations_is_migrated(example_dir: Path, run: Runner) -> None:
    lived_in(example_dir, run)
    before, outbox = events(run, example_dir), len(rows(example_dir / "courtsync.db", "outbox"))
    as_previous_release(example_dir, before_leases=True)
    assert events(run, example_dir) == before
    db = sqlite3.connect(example_dir / "courtsync.db")
    columns = {r[1] for r in db.execute("PRAGMA table_info(outbox)")}
    db.close()
    assert {"claimed_by", "lease_until"} <= columns and len(rows(example_dir / "courtsync.db", "outbox")) == outbox
    cache = sqlite3.connect(example_dir / "courtsync.cache.db")
    assert {r[0] for r in cache.execute("SELECT location FROM sources")} == {None}   # taken as configured
    cache.close()


def test_two_commands_opening_a_previous_release_store_at_once_migrate_it_once(example_dir: Path,
                                                                                run: Runner) -> None:
    assert run("sync", *cfg(example_dir)).exit_code == 0
    copies = rows(example_dir / "courtsync.cache.db", "items")
    as_previous_release(example_dir)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = [sys.executable, "-m", "courtsync", "events", *cfg(example_dir), "--offline", "--all", "--format", "json"]
    procs = [subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert outs[0][0] == outs[1][0] and json.loads(outs[0][0])["events"]
    assert rows(example_dir / "courtsync.cache.db", "items") == copies
    assert version(example_dir / "courtsync.db") == RECORDS_VERSION


def test_a_store_of_a_newer_release_is_refused(example_dir: Path, run: Runner) -> None:
    assert run("sync", *cfg(example_dir)).exit_code == 0
    store = example_dir / "courtsync.db"
    db = sqlite3.connect(store)
    db.execute("PRAGMA user_version = 7")
    db.close()
    unlink_all(example_dir / "courtsync.cache.db")
    for command in (["events"], ["check", "--worker", "w01", "--date", "2026-12-01"], ["notices", "--log"],
                    ["db", "upgrade"]):
        result = run(*command, *cfg(example_dir)) if command[0] != "db" else \
            run("db", "upgrade", "--config", example_dir / "courtsync.toml")
        assert result.exit_code == 2, (command, result.stdout, result.stderr)
        assert str(store) in result.stderr and "schema version 7" in result.stderr, result.stderr
        assert f"knows versions up to {RECORDS_VERSION}" in result.stderr and "upgrade courtsync" in result.stderr
        assert "Traceback" not in result.stderr
    assert version(store) == 7 and not (example_dir / "courtsync.cache.db").exists()   # left as it was


def test_db_upgrade_creates_migrates_or_leaves_the_store(example_dir: Path, run: Runner) -> None:
    toml = example_dir / "courtsync.toml"
    store = example_dir / "courtsync.db"
    created = run("db", "upgrade", "--config", toml)
    assert created.exit_code == 0 and f"created the store {store} (schema version {RECORDS_VERSION})" in created.stdout
    assert version(store) == RECORDS_VERSION and (example_dir / "courtsync.cache.db").exists()
    current = run("--config", toml, "db", "upgrade")
    assert current.exit_code == 0 and f"is current (schema version {RECORDS_VERSION})" in current.stdout, current.stdout
    assert run("sync", *cfg(example_dir)).exit_code == 0
    before = events(run, example_dir)
    as_previous_release(example_dir)
    migrated = run("db", "upgrade", "--config", toml)
    assert migrated.exit_code == 0 and f"schema version 0 -> {RECORDS_VERSION}" in migrated.stdout, migrated.stdout
    assert events(run, example_dir) == before


def test_a_deleted_cache_is_rebuilt_by_the_next_sync_with_no_record_lost(example_dir: Path, run: Runner) -> None:
    lived_in(example_dir, run)
    kept, before = records(example_dir), read_afresh(run, example_dir)
    log = run("notices", *cfg(example_dir), "--log").stdout
    unlink_all(example_dir / "courtsync.cache.db")
    assert run("sync", *cfg(example_dir)).exit_code == 0
    assert read_afresh(run, example_dir) == before
    assert records(example_dir) == kept   # the outbox, digests, notices, letters and published SEQUENCEs
    assert run("notices", *cfg(example_dir), "--log").stdout == log
    ics = run("dates", *cfg(example_dir), "--worker", "w01", "--format", "ics")
    assert ics.exit_code == 0 and records(example_dir)["published"] == kept["published"]


@pytest.mark.parametrize("damage", [b"this is not an SQLite database\n" * 64, b""])
def test_a_damaged_or_empty_cache_file_is_rebuilt_not_an_error(example_dir: Path, run: Runner,
                                                                damage: bytes) -> None:
    assert run("sync", *cfg(example_dir)).exit_code == 0
    before = read_afresh(run, example_dir)
    cache = example_dir / "courtsync.cache.db"
    unlink_all(cache)
    cache.write_bytes(damage)
    result = run("sync", *cfg(example_dir))
    assert result.exit_code == 0, result.stderr
    assert read_afresh(run, example_dir) == before
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600


def test_a_cache_of_another_layout_is_emptied_and_refilled(example_dir: Path, run: Runner) -> None:
    assert run("sync", *cfg(example_dir)).exit_code == 0
    before = read_afresh(run, example_dir)
    cache = example_dir / "courtsync.cache.db"
    db = sqlite3.connect(cache)
    db.execute("PRAGMA user_version = 99")   # a layout of another release
    db.close()
    assert run("sync", *cfg(example_dir)).exit_code == 0
    assert version(cache) == CACHE_LAYOUT and read_afresh(run, example_dir) == before


def test_each_command_closes_its_store_so_a_copy_of_either_file_alone_is_whole(example_dir: Path, run: Runner,
                                                                               tmp_path: Path) -> None:
    lived_in(example_dir, run)
    for name, tables in (("courtsync.db", RECORDS), ("courtsync.cache.db", CACHE)):
        assert not (example_dir / f"{name}-wal").exists()   # closed: the log folded in and removed
        copy = tmp_path / f"copy-{name}"
        copy.write_bytes((example_dir / name).read_bytes())
        assert {t: rows(copy, t) for t in tables} == {t: rows(example_dir / name, t) for t in tables}


def test_a_store_of_version_1_gains_the_enrollment_tables_and_keeps_its_records(example_dir: Path,
                                                                                run: Runner) -> None:
    lived_in(example_dir, run)
    kept = records(example_dir)
    db = sqlite3.connect(example_dir / "courtsync.db")
    with db:   # as the release before enrollment left it
        db.execute("DROP TABLE enrollments")
        db.execute("DROP TABLE enrollment_log")
        db.execute("PRAGMA user_version = 1")
    db.close()
    enrolled = run("enroll", *cfg(example_dir), "--commit")
    assert enrolled.exit_code == 0, enrolled.stderr
    assert version(example_dir / "courtsync.db") == RECORDS_VERSION
    assert records(example_dir) == kept
    assert len(rows(example_dir / "courtsync.db", "enrollments")) == 25
