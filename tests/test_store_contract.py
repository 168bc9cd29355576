"""The store contract, on both backends: what a SQLite file and a PostgreSQL database hold after the same reads
and the same outbox traffic must be the same, row for row. Then what only a shared server must show: two writers
at once apply one change once, two senders claim a row once, a schema from a newer release is refused, and a
server that goes away is a clear error that ends when it is back."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from courtsync.calendars.files import FileSource
from courtsync.errors import ConfigError, StoreUnavailable
from courtsync.store.base import NewerStoreError, Storage
from courtsync.store.sqlite import Store
from courtsync.sync.engine import change_of
from courtsync.sync.readers import Task, read_one
from tests.calendar_helpers import CALENDARS, CASE, WINDOW, store_state, synced
from tests.test_resync import grow, new_summary

RECURRENCE = CALENDARS / "court" / "recurrence.ics"
FIXTURES = sorted(p for p in CALENDARS.rglob("*.ics") if p.name not in ("html_login.ics",))


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Storage]]:
    """Opens (another connection to) one store of the backend, as a second process would."""
    opened: list[Storage] = []
    if request.param == "sqlite":
        def make() -> Storage:
            opened.append(Store(tmp_path / "store.db"))
            return opened[-1]
    else:
        from courtsync.store.postgres import PostgresStore
        url = request.getfixturevalue("pg_url")

        def make() -> Storage:
            opened.append(PostgresStore(url))
            return opened[-1]
    yield make
    for store in opened:
        store.close()


def _outbox(store: Storage) -> list[tuple[Any, ...]]:
    return [(r.key, r.recipient, r.status, r.attempts, r.message) for s in ("pending", "claimed", "sent")
            for r in store.ledger.rows(s)]


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: str(p.relative_to(CALENDARS)))
def test_every_fixture_calendar_is_stored_alike_on_both_backends(fixture: Path, tmp_path: Path,
                                                                 pg_url: str) -> None:
    from courtsync.store.postgres import PostgresStore
    data = fixture.read_bytes()
    with Store(tmp_path / "s.db") as lite, PostgresStore(pg_url) as pg:
        a, b = synced(lite, tmp_path, fixture.name, data), synced(pg, tmp_path, fixture.name, data)
        assert (a.outcome, a.events, a.groups, a.problems) == (b.outcome, b.events, b.groups, b.problems)
        assert store_state(lite) == store_state(pg)


def test_a_resync_after_edits_leaves_the_same_rows(backend: Callable[[], Storage], tmp_path: Path) -> None:
    store = backend()
    data = RECURRENCE.read_bytes()
    synced(store, tmp_path, "recurrence.ics", data)
    edited = new_summary(grow(data.decode(), 0), 3).encode()
    second = synced(store, tmp_path, "recurrence.ics", edited)
    assert second.reread == 2
    fresh = Store(tmp_path / "fresh.db")
    synced(fresh, tmp_path, "recurrence.ics", edited)
    assert store_state(store) == store_state(fresh)
    fresh.close()


def test_sources_setbacks_and_derived_values(backend: Callable[[], Storage]) -> None:
    store = backend()
    store.record_failure("a", "court", "A", "timed out", 10.0, location="h1")
    store.record_setback("a", 10.0, lambda n: 60.0 * n, timed_out=True)
    store.record_setback("a", 20.0, lambda n: 60.0 * n, held="dropped 80%")
    health = store.health()["a"]
    assert (health.failures, health.retry_after, health.timed_out, health.held) == (2, 140.0, False, "dropped 80%")
    row = store.sources()["a"]
    assert (row.error, row.attempted_at, row.synced_at, row.location) == ("timed out", 10.0, None, "h1")
    store.clear_setbacks("a")
    assert store.health() == {}
    assert store.cached("roster", "k1") is None
    store.remember("roster", "k1", b"\x00\xffone")
    store.remember("roster", "k2", b"two")     # a new signature replaces the old value
    assert (store.cached("roster", "k1"), store.cached("roster", "k2")) == (None, b"two")
    store.forget("a")
    assert store.sources() == {}


def test_the_outbox_queues_claims_and_settles_alike(backend: Callable[[], Storage]) -> None:
    ledger = backend().ledger
    rows = [("digest:s01:2027-W03", "s01@x", "<m1@x>", "Digest", b"one", {"n": 1}),
            ("digest:s02:2027-W03", "s02@x", "<m2@x>", "Digest", b"two", {"n": 2})]
    assert ledger.queue(rows, (), 1.0) == (2, 0)
    assert ledger.queue(rows, (), 2.0) == (0, 2)     # the same messages: nothing twice
    first, second = ledger.rows("pending")
    assert ledger.claim(first.id, "run-1", 100.0) is not None
    assert ledger.claim(first.id, "run-2", 100.0) is None
    assert ledger.handing_over(first.id, "run-1")
    assert ledger.finish(first.id, "run-1", "sent", None, 5.0)
    assert ledger.claim(second.id, "run-1", 100.0) is not None
    assert ledger.release(second.id, "run-1")
    assert ledger.counts("digest:") == {"sent": 1, "pending": 1}
    notice = ledger.record_notice("c1", 3.0, "email", "2027-01-01", "2027-06-30", [{"date": "2027-01-20"}], False,
                                  "2026-12-03", "text", "<p>html</p>")
    assert [(n.id, n.court, n.text) for n in ledger.notices("c1")] == [(notice, "c1", "text")]
    assert ledger.last_told("c1") == [{"date": "2027-01-20"}]
    ledger.remember_digest("s01", "2027-W03", {"k": 1}, 4.0)
    ledger.remember_digest("s01", "2027-W04", {"k": 2}, 5.0)
    assert ledger.digest_keys() == {"s01": {"k": 2}}


def test_two_senders_at_once_claim_each_row_once(backend: Callable[[], Storage]) -> None:
    setup, stores = backend(), [backend(), backend()]   # (each opened by its own thread, as by its own process)
    setup.ledger.queue([(f"notice:c{i}", "clerk@x", f"<n{i}@x>", "Dates", b"m", {}) for i in range(60)], (), 1.0)
    ids = [r.id for r in setup.ledger.rows("pending")]
    claimed: dict[str, list[int]] = {"a": [], "b": []}
    start = threading.Barrier(2)

    def sender(name: str, store: Storage) -> None:
        start.wait()
        for row_id in ids:
            if store.ledger.claim(row_id, name, 100.0) is not None:
                claimed[name].append(row_id)
        store.close()

    threads = [threading.Thread(target=sender, args=(n, s)) for n, s in zip("ab", stores, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed["a"] + claimed["b"]) == ids


def test_two_syncs_of_one_source_at_once_apply_it_once(backend: Callable[[], Storage], tmp_path: Path) -> None:
    setup, stores = backend(), [backend(), backend()]
    synced(setup, tmp_path, "recurrence.ics", RECURRENCE.read_bytes())
    grown = grow(RECURRENCE.read_text(), 0).encode()
    (tmp_path / "recurrence.ics").write_bytes(grown)
    source = FileSource("src", "court", "recurrence.ics", tmp_path, case_pattern=CASE)
    task = Task(source, WINDOW, {}, setup.group_tags("src"), None)
    reads = [read_one(task).read for _ in stores]
    start = threading.Barrier(2)

    def apply(store: Storage, read: Any) -> None:
        start.wait()
        store.apply("src", "court", source.label, change_of(read), read.fetched.problems, {}, WINDOW.key(), 0.0, 0,
                    lambda item: (), "k")
        store.close()

    threads = [threading.Thread(target=apply, args=pair) for pair in zip(stores, reads, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    fresh = Store(tmp_path / "fresh.db")
    synced(fresh, tmp_path, "recurrence.ics", grown)
    assert store_state(setup) == store_state(fresh)
    fresh.close()


def test_a_postgresql_store_of_a_newer_release_is_refused(pg_url: str) -> None:
    from courtsync.store.postgres import PostgresStore
    with PostgresStore(pg_url) as store:
        assert store.upgrade().before is None
    import psycopg
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("UPDATE courtsync_schema SET version = 99 WHERE part = 'records'")
    import courtsync.store.postgres as pg
    pg._ready.clear()
    with PostgresStore(pg_url) as store, pytest.raises(NewerStoreError) as refused:
        store.sources()
    assert "schema version 99" in refused.value.message and "upgrade courtsync" in (refused.value.hint or "")


def test_a_postgresql_server_that_is_down_is_a_clear_error_naming_the_store_without_its_password() -> None:
    from courtsync.store.postgres import PostgresStore
    store = PostgresStore("postgresql://courtsync:hunter2@/nowhere?host=/nonexistent-socket-dir&port=1")
    with pytest.raises(StoreUnavailable) as down:
        store.sources()
    assert isinstance(down.value, ConfigError)
    assert "postgresql://courtsync@/nowhere" in down.value.message
    assert "hunter2" not in str(down.value)


def test_a_server_that_goes_away_mid_command_is_store_unavailable_and_the_next_command_works(
        pg_cluster: Any, pg_url: str) -> None:
    from courtsync.store.postgres import PostgresStore
    store = PostgresStore(pg_url)
    store.remember("roster", "k", b"v")
    pg_cluster.pause()
    try:
        with pytest.raises(StoreUnavailable):
            store.sources()
        assert store.cached("roster", "k") is None     # best effort: a miss, not a failure
        store.close()
    finally:
        pg_cluster.resume()
    with PostgresStore(pg_url) as again:
        assert again.cached("roster", "k") == b"v"


def test_a_sync_of_a_source_waits_while_another_process_writes_that_source(pg_url: str, tmp_path: Path) -> None:
    # Without the per-source lock, the second of two syncs that read the same edit computed its line shifts
    # from the rows the first was replacing, and applied them again.
    import psycopg

    from courtsync.store.postgres import PostgresStore
    setup = PostgresStore(pg_url)
    synced(setup, tmp_path, "recurrence.ics", RECURRENCE.read_bytes())
    (tmp_path / "recurrence.ics").write_bytes(grow(RECURRENCE.read_text(), 0).encode())
    source = FileSource("src", "court", "recurrence.ics", tmp_path, case_pattern=CASE)
    read = read_one(Task(source, WINDOW, {}, setup.group_tags("src"), None)).read
    assert read is not None
    done = threading.Event()

    def apply() -> None:
        with PostgresStore(pg_url) as store:
            store.apply("src", "court", source.label, change_of(read), read.fetched.problems, {}, WINDOW.key(), 0.0,
                        0, lambda item: (), "k")
        done.set()

    with psycopg.connect(pg_url) as other:   # another process, in the middle of writing source `src`
        other.execute("SELECT pg_advisory_xact_lock(hashtext('source:src'))")
        worker = threading.Thread(target=apply)
        worker.start()
        assert not done.wait(1.0), "the sync wrote the source while another process held it"
    worker.join()
    assert done.is_set()
    setup.close()


def test_one_process_at_a_time_holds_an_exclusive_turn(backend: Callable[[], Storage]) -> None:
    first, second = backend(), backend()
    with first.exclusive("refresh") as mine:
        assert mine
        with second.exclusive("refresh") as theirs, second.exclusive("another") as other:
            assert (theirs, other) == (False, True)
    with second.exclusive("refresh") as theirs:
        assert theirs   # let go when the first one's turn ended
