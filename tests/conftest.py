"""Shared test fixtures: isolated environment, the fixture config, the `init` example, a CLI runner."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from courtsync.cli import cli

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
AS_OF = date(2026, 11, 23)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", help="Rewrite golden files from output.")


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No test sees the developer's config, secrets or home folder."""
    for name in list(__import__("os").environ):
        if name.startswith("COURTSYNC_"):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path)
    yield


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """A writable copy of fixtures/config (courtsync.toml, workers.csv, caseload.csv)."""
    target = tmp_path / "cfg"
    shutil.copytree(FIXTURES / "config", target)
    return target


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str
    stdout_bytes: bytes
    exception: BaseException | None


@pytest.fixture
def run() -> Callable[..., Run]:
    """Run the CLI in-process; stdout and stderr are kept apart."""
    def invoke(*args: str, env: dict[str, str] | None = None) -> Run:
        result = CliRunner().invoke(cli, [str(a) for a in args], env=env, catch_exceptions=True)
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return Run(result.exit_code, result.stdout, result.stderr, result.stdout_bytes, result.exception)
    return invoke


@pytest.fixture
def example_dir(tmp_path: Path, run: Callable[..., Run]) -> Path:
    """What `courtsync init` writes, with a fixed as-of date."""
    target = tmp_path / "example"
    result = run("init", target, "--as-of", AS_OF.isoformat())
    assert result.exit_code == 0, result.stderr
    return target


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Callable[[str, str], None]:
    """Compare text with fixtures/golden/NAME; --update-golden rewrites it."""
    def check(name: str, text: str) -> None:
        path = FIXTURES / "golden" / name
        if request.config.getoption("--update-golden") or not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(text.encode("utf-8"))
            if not request.config.getoption("--update-golden"):
                pytest.fail(f"golden file {path} was missing and has been written; check it and rerun")
        assert text == path.read_bytes().decode("utf-8"), f"differs from {path}"
    return check


# --- PostgreSQL: one throwaway cluster per test run, a fresh database per test -------------------------------

BACKEND = __import__("os").environ.get("COURTSYNC_TEST_STORE", "sqlite")   # the one switch: =postgresql


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[object]:
    from tests.pg import Cluster
    cluster = Cluster()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def pg_url(pg_cluster: object) -> Iterator[str]:
    """The URL of a new empty PostgreSQL database, dropped after the test."""
    url: str = pg_cluster.database()   # type: ignore[attr-defined]
    yield url
    pg_cluster.drop(url)   # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def store_backend(request: pytest.FixtureRequest, isolated_env: None,
                  monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """With COURTSYNC_TEST_STORE=postgresql every command a test runs (in process or as a subprocess) keeps its
    store in a fresh PostgreSQL database ($COURTSYNC_STORE), instead of the SQLite file its config names.
    Tests about the SQLite files themselves are marked `sqlite_only` and skipped then."""
    if BACKEND != "postgresql":
        yield
        return
    if request.node.get_closest_marker("sqlite_only"):
        pytest.skip("about the SQLite store's files (COURTSYNC_TEST_STORE=postgresql)")
    if request.module.__name__.rsplit(".", 1)[-1] in STORE_FREE:
        pytest.skip("opens no store: the SQLite pass ran it")
    cluster = request.getfixturevalue("pg_cluster")
    url = cluster.prepared()   # (a test about creating the schema asks for pg_url, an empty database)
    monkeypatch.setenv("COURTSYNC_STORE", url)
    yield
    cluster.drop(url, wait=False)


# Modules whose tests open no store (pure rules, parsers, the layer table): the PostgreSQL pass skips them.
STORE_FREE = frozenset({"test_architecture", "test_availability", "test_conflicts", "test_enrollment_solver",
                        "test_ews", "test_ics_differential", "test_ics_reading", "test_ics_vtimezone",
                        "test_real_world_calendars", "test_schedule"})
