"""Data at rest: the store and every file courtsync writes are owner-only (0600 files, 0700 folders)."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from courtsync.store.sqlite import Store
from tests.conftest import AS_OF, Run

pytestmark = pytest.mark.sqlite_only   # the modes of the SQLite files

Runner = Callable[..., Run]


@pytest.fixture(autouse=True)
def everyone_may_read() -> Iterator[None]:
    """The usual umask, under which files are created readable by everyone unless courtsync says otherwise."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_store_and_its_wal_and_shm_files_are_created_owner_only(tmp_path: Path) -> None:
    path, cache = tmp_path / "courtsync.db", tmp_path / "courtsync.cache.db"
    with Store(path) as store:
        store.remember("probe", "k", b"v")   # the calendar cache, and the records beside it
        readers = [sqlite3.connect(p) for p in (path, cache)]   # more connections keep -wal and -shm in place
        for reader in readers:
            reader.execute("SELECT count(*) FROM sqlite_master").fetchone()
        made = [p.with_name(p.name + s) for p in (path, cache) for s in ("", "-wal", "-shm")]
        assert all(p.exists() for p in made)
        assert {p.name: mode(p) for p in made} == {p.name: 0o600 for p in made}
        for reader in readers:
            reader.close()


def test_a_store_left_readable_by_everyone_is_tightened(tmp_path: Path) -> None:
    path, cache = tmp_path / "courtsync.db", tmp_path / "courtsync.cache.db"
    for made in (path, cache):
        sqlite3.connect(made).execute("CREATE TABLE t (x)").connection.close()
        os.chmod(made, 0o644)
    wal = path.with_name(path.name + "-wal")
    wal.write_bytes(b"")
    os.chmod(wal, 0o666)
    with Store(path) as store:
        store.remember("probe", "k", b"v")
        assert mode(path) == 0o600 and mode(wal) == 0o600 and mode(cache) == 0o600


def test_a_synced_example_store_is_owner_only(example_dir: Path, run: Runner) -> None:
    assert run("sync", "--config", example_dir / "courtsync.toml", "--as-of", AS_OF).exit_code == 0
    stores = sorted(example_dir.glob("courtsync.*db*"))
    assert {p.name for p in stores} >= {"courtsync.db", "courtsync.cache.db"}
    assert {p.name: mode(p) for p in stores} == {p.name: 0o600 for p in stores}


def test_digest_files_and_their_folder_are_owner_only(example_dir: Path, run: Runner, tmp_path: Path) -> None:
    out = tmp_path / "new" / "digests"
    result = run("digest", "--config", example_dir / "courtsync.toml", "--as-of", AS_OF, "--out", out)
    assert result.exit_code == 0, result.stderr
    files = list(out.iterdir())
    assert files and {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}
    assert mode(out) == 0o700 and mode(out.parent) == 0o700


def test_an_existing_output_file_readable_by_everyone_is_tightened(example_dir: Path, run: Runner,
                                                                   tmp_path: Path) -> None:
    out = tmp_path / "digests"
    out.mkdir(mode=0o755)
    old = out / "digest-s01-2026-W48.txt"
    old.write_text("last week's\n")
    os.chmod(old, 0o644)
    result = run("digest", "--config", example_dir / "courtsync.toml", "--as-of", AS_OF, "--supervisor", "s01",
                 "--out", out)
    assert result.exit_code == 0, result.stderr
    assert old.read_text() != "last week's\n" and mode(old) == 0o600
    assert mode(out) == 0o755   # a folder the user made is theirs to share


def test_letters_and_the_print_batch_are_owner_only(example_dir: Path, run: Runner, tmp_path: Path) -> None:
    pytest.importorskip("weasyprint")
    letters, batch = tmp_path / "letters", tmp_path / "batch"
    cfg = ("--config", example_dir / "courtsync.toml", "--as-of", AS_OF)
    assert run("notices", *cfg, "--out", letters).exit_code == 0
    assert run("notices", *cfg, "--print", "--out", batch).exit_code == 0
    files = [*letters.iterdir(), *batch.iterdir()]
    assert {f.suffix for f in files} >= {".pdf", ".html", ".txt", ".csv"}
    assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}
    assert mode(letters) == 0o700 and mode(batch) == 0o700


def test_the_init_example_is_owner_only(tmp_path: Path, run: Runner) -> None:
    target = tmp_path / "example"
    assert run("init", target, "--as-of", AS_OF).exit_code == 0
    files = [p for p in target.rglob("*") if p.is_file()]
    folders = [target, *(p for p in target.rglob("*") if p.is_dir())]
    assert {str(f): mode(f) for f in files} == {str(f): 0o600 for f in files}
    assert {str(f): mode(f) for f in folders} == {str(f): 0o700 for f in folders}


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to give a file away")
def test_a_store_another_user_shared_with_us_is_opened_and_left_shared(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.close()
    os.chown(path, 54321, 54321)
    os.chmod(path, 0o666)
    with Store(path) as store:
        store.remember("probe", "k", b"v")   # neither refused nor taken away from its owner
        assert mode(path) == 0o666
