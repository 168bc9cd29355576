"""The agency deployment on a real PostgreSQL (a throwaway cluster): `db upgrade`, the same answers as SQLite,
several processes on one store at once with nothing sent twice, and a server that goes away while the web
service runs."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from courtsync.store.schema import RECORDS_VERSION
from tests.conftest import AS_OF, Run
from tests.smtp_server import Behaviour, SmtpServer
from tests.test_outbox_faults import COURTS, SUPERVISORS, courtsync, digest_args, finish, notices_args, smtp_table
from tests.test_outbox_faults import with_smtp as with_smtp_table
from tests.test_serve import CHECK_DAY, _start, _worker

Runner = Callable[..., Run]


@pytest.fixture(autouse=True)
def own_database(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests name their store in courtsync.toml ($COURTSYNC_STORE of the PostgreSQL run would win)."""
    monkeypatch.delenv("COURTSYNC_STORE", raising=False)


def on_postgres(example_dir: Path, url: str) -> Path:
    """The example's courtsync.toml with `store` on PostgreSQL."""
    toml = example_dir / "courtsync.toml"
    text = toml.read_text()
    toml.write_text(f'store = "{url}"\n' + "\n".join(line for line in text.splitlines()
                                                      if not line.startswith("store =")) + "\n")
    return toml


def _without_times(scan: dict[str, Any]) -> dict[str, Any]:
    """A scan's JSON without the instants each store's own sync ran at (two syncs, two clocks)."""
    for source in scan.get("sources", []):
        source.pop("synced_at", None)
    return scan


def test_db_upgrade_creates_then_finds_current_then_refuses_a_newer_schema(example_dir: Path, pg_url: str,
                                                                        run: Runner) -> None:
    toml = on_postgres(example_dir, pg_url)
    first = run("db", "upgrade", "--config", toml)
    assert first.exit_code == 0 and "created the store postgresql://postgres@/" in first.stdout, first.stderr
    again = run("db", "upgrade", "--config", toml)
    assert again.exit_code == 0 and f"is current (schema version {RECORDS_VERSION}); nothing to do" in again.stdout
    import psycopg
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("UPDATE courtsync_schema SET version = 7 WHERE part = 'records'")
    refused = subprocess.run([sys.executable, "-m", "courtsync", "scan", "--config", str(toml), "--offline"],
                             capture_output=True, text=True)
    assert refused.returncode == 2, refused.stderr
    assert "has schema version 7" in refused.stderr and "upgrade courtsync" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_a_database_of_schema_version_1_gains_the_enrollment_tables(example_dir: Path, pg_url: str,
                                                                   run: Runner) -> None:
    toml = on_postgres(example_dir, pg_url)
    assert run("db", "upgrade", "--config", toml).exit_code == 0
    import psycopg
    with psycopg.connect(pg_url, autocommit=True) as conn:   # as the release before enrollment left it
        conn.execute("DROP TABLE enrollments")
        conn.execute("DROP TABLE enrollment_log")
        conn.execute("UPDATE courtsync_schema SET version = 1 WHERE part = 'records'")
    upgraded = run("db", "upgrade", "--config", toml)
    assert upgraded.exit_code == 0 and f"1 -> {RECORDS_VERSION}" in upgraded.stdout, upgraded.stdout
    enrolled = run("enroll", "--config", toml, "--as-of", AS_OF.isoformat(), "--commit", "--format", "json")
    assert enrolled.exit_code == 0 and json.loads(enrolled.stdout)["enrolled"] == 25, enrolled.stderr


def test_an_unreachable_store_is_exit_2_naming_it_without_the_password(example_dir: Path, run: Runner) -> None:
    toml = on_postgres(example_dir, "postgresql://courtsync:s3cret@/courtsync?host=/nonexistent&port=1")
    result = run("scan", "--config", toml, "--offline")
    assert result.exit_code == 2
    assert "The store postgresql://courtsync@/courtsync" in result.stderr and "cannot be reached" in result.stderr
    assert "s3cret" not in result.stderr + result.stdout


def test_the_same_scan_on_sqlite_and_on_postgresql_gives_the_same_json(example_dir: Path, pg_url: str,
                                                                       run: Runner) -> None:
    toml = example_dir / "courtsync.toml"
    args = ("--config", toml, "--as-of", AS_OF.isoformat())
    workers = [line.split(",", 1)[0] for line in (example_dir / "workers.csv").read_text().splitlines()[1:]]

    def answers() -> tuple[Run, list[str]]:
        assert run("sync", *args).exit_code == 0
        checks = [run("check", *args, "--offline", "--format", "json", "--worker", w, "--date", CHECK_DAY).stdout
                  for w in workers]
        return run("scan", *args, "--offline", "--format", "json"), checks

    lite, lite_checks = answers()
    on_postgres(example_dir, pg_url)
    pg, pg_checks = answers()
    assert (lite.exit_code, pg.exit_code) == (1, 1)
    assert _without_times(json.loads(pg.stdout)) == _without_times(json.loads(lite.stdout))
    assert json.loads(pg.stdout)["conflicts"]
    for a, b in zip(pg_checks, lite_checks, strict=True):
        assert _without_times(json.loads(a)) == _without_times(json.loads(b))
    assert len(workers) > 3


def test_two_digest_senders_and_a_notices_sender_at_once_with_a_sync_running_send_each_message_once(
        example_dir: Path, pg_url: str, run: Runner) -> None:
    server = SmtpServer(Behaviour(stall_first="data")).start()   # holds the first message until a second sender
    try:
        on_postgres(example_dir, pg_url)
        toml = with_smtp_table(example_dir, smtp_table(server))
        assert run("sync", "--config", toml, "--as-of", AS_OF.isoformat()).exit_code == 0
        procs = [courtsync("sync", "--config", str(toml), "--as-of", AS_OF.isoformat()),
                 courtsync(*digest_args(toml)), courtsync(*digest_args(toml)), courtsync(*notices_args(toml))]
        results = [finish(p) for p in procs]
    finally:
        server.behaviour.release.set()
        server.stop()
    assert [code for code, _, _ in results] == [0, 0, 0, 0], results
    counts = server.message_ids()
    assert sorted(counts.values()) == [1] * (SUPERVISORS + COURTS), (counts, results)
    log = run("notices", "--config", toml, "--log", "--format", "csv")
    assert log.stdout.count(",email,initial,sent,") == COURTS, log.stdout


def test_the_web_service_on_postgresql_answers_503_while_the_database_is_gone_and_recovers(
        example_dir: Path, pg_cluster: Any, pg_url: str, run: Runner) -> None:
    toml = on_postgres(example_dir, pg_url)
    toml.write_text(toml.read_text() + '\n[server]\nauth = "none"\nrefresh = "0s"\n')
    assert run("sync", "--config", toml, "--as-of", AS_OF.isoformat()).exit_code == 0
    proc, base = _start(toml)
    query = {"worker": _worker(toml), "date": CHECK_DAY, "as_of": AS_OF.isoformat()}
    try:
        before = httpx.get(f"{base}/api/check", params=query, timeout=30)
        assert before.status_code == 200, before.text
        pg_cluster.pause()
        try:
            gone = httpx.get(f"{base}/api/check", params=query, timeout=30)
            assert gone.status_code == 503, gone.text
            assert "cannot be reached" in gone.json()["error"]
            # Bug: the 503 named the database (user, host, database) to whoever asked.
            assert "postgresql://" not in gone.text and "host=" not in gone.text
            assert httpx.get(f"{base}/readyz", timeout=30).status_code == 503
            assert httpx.get(f"{base}/healthz", timeout=30).status_code == 200   # the server itself is alive
        finally:
            pg_cluster.resume()
        back = httpx.get(f"{base}/api/check", params=query, timeout=30)
        assert back.status_code == 200 and back.json() == before.json()
        assert httpx.get(f"{base}/readyz", timeout=30).status_code == 200
    finally:
        proc.terminate()
        log = proc.communicate(timeout=10)[0].decode()
    assert "Traceback" not in log, log


def test_a_db_upgrade_killed_while_migrating_leaves_nothing_and_the_next_one_does_it_whole(
        example_dir: Path, pg_url: str, run: Runner) -> None:
    import signal
    import time

    import psycopg
    toml = on_postgres(example_dir, pg_url)
    with psycopg.connect(pg_url, autocommit=True) as holder:   # another process in the middle of migrating it
        holder.execute("SELECT pg_advisory_lock(hashtext('courtsync:schema'))")
        upgrade = subprocess.Popen([sys.executable, "-m", "courtsync", "db", "upgrade", "--config", str(toml)],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(200):   # until it waits inside its migration's transaction, for the lock
            waiting = holder.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
            if waiting.fetchone()[0]:   # type: ignore[index]
                break
            time.sleep(0.05)
        upgrade.send_signal(signal.SIGKILL)
        upgrade.communicate(timeout=30)
        tables = holder.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()
        assert tables is not None and tables[0] == 0, "a migration cut off half way left tables behind"
    done = run("db", "upgrade", "--config", toml)
    assert done.exit_code == 0 and "created the store" in done.stdout, done.stderr
    assert run("sync", "--config", toml, "--as-of", AS_OF.isoformat()).exit_code == 0
