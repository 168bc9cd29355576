"""`courtsync sync` exits with its most severe source's code, and shows each failure's hint (how to fix it)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import responses

from tests.conftest import AS_OF, Run
from tests.feed_server import FeedServer, Route, serve_feed

Runner = Callable[..., Run]
EXCHANGE = ('\n[exchange]\nendpoint = "https://mail.agency.example/EWS/Exchange.asmx"\nusername = "svc-courtsync"\n'
            'password_env = "COURTSYNC_EWS_PASSWORD"\nmode = "free-busy"\n')


@pytest.fixture
def server() -> Iterator[FeedServer]:
    s = FeedServer().start()
    yield s
    s.stop()


@pytest.fixture
def no_network() -> Iterator[responses.RequestsMock]:
    """Exchange is never reached: a request to it fails the read with a connection error (exit 3)."""
    with responses.RequestsMock(assert_all_requests_are_fired=False, passthru_prefixes=("http://127.0.0.1",)) as mock:
        yield mock


def sync(run: Runner, d: Path, *extra: str) -> Run:
    return run("sync", "--config", d / "courtsync.toml", "--as-of", AS_OF.isoformat(), *extra)


def with_exchange(d: Path) -> None:
    """The example, with its mailboxes read from Exchange; the password variable is not set (conftest)."""
    toml = d / "courtsync.toml"
    toml.write_text(toml.read_text() + EXCHANGE)


def line_of(result: Run, source: str) -> list[str]:
    """The source's line and its hint lines below it (indented)."""
    lines = result.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{source} "))
    end = next((i for i in range(start + 1, len(lines)) if not lines[i].startswith(" ")), len(lines))
    return lines[start:end]


def test_a_missing_password_variable_is_a_configuration_error_exit_2_with_its_hint(
        example_dir: Path, run: Runner, no_network: responses.RequestsMock) -> None:
    with_exchange(example_dir)
    result = sync(run, example_dir)
    assert result.exit_code == 2, result.stdout + result.stderr
    failed, hint = line_of(result, "exchange")
    assert "FAILED" in failed and "The environment variable COURTSYNC_EWS_PASSWORD is not set" in failed
    assert hint.strip() == "Export the password of svc-courtsync as COURTSYNC_EWS_PASSWORD ([exchange] password_env)."
    assert "2 of 3 source(s) read" in result.stdout and "1 failed" in result.stdout


def test_a_feed_that_answers_404_is_an_unread_source_exit_3_with_its_hint(
        example_dir: Path, run: Runner, server: FeedServer) -> None:
    serve_feed(example_dir, server, Route(status=404, body=b"gone"))
    result = sync(run, example_dir)
    assert result.exit_code == 3, result.stdout + result.stderr
    failed, hint = line_of(result, "will-juv")
    assert "FAILED" in failed and "HTTP 404" in failed
    assert hint.strip() == "The feed address may have changed; check it in courtsync.toml."


def test_a_configuration_error_beside_an_unread_source_exits_2(
        example_dir: Path, run: Runner, server: FeedServer, no_network: responses.RequestsMock) -> None:
    serve_feed(example_dir, server, Route(status=404, body=b"gone"))
    with_exchange(example_dir)
    result = sync(run, example_dir)
    assert result.exit_code == 2, result.stdout + result.stderr   # the configuration is fixed first
    assert "HTTP 404" in line_of(result, "will-juv")[0] and "COURTSYNC_EWS_PASSWORD" in line_of(result, "exchange")[0]
    assert "1 of 3 source(s) read" in result.stdout and "2 failed" in result.stdout
    # the unread feed alone: exit 3
    assert sync(run, example_dir, "--source", "will-juv").exit_code == 3


def test_a_hint_comes_back_from_the_reader_processes(example_dir: Path, run: Runner, server: FeedServer) -> None:
    serve_feed(example_dir, server, Route(status=404, body=b"gone"))
    toml = example_dir / "courtsync.toml"
    names = []
    for n in range(9):   # enough sources that sync reads them in reader processes
        shutil.copy(example_dir / "feeds" / "cook-cpd.ics", example_dir / "feeds" / f"cook-{n}.ics")
        names.append(f'"feeds/cook-{n}.ics"')
    toml.write_text(toml.read_text().replace('feeds = ["feeds/cook-cpd.ics"]', f"feeds = [{', '.join(names)}]"))
    result = sync(run, example_dir)
    assert result.exit_code == 3, result.stdout + result.stderr
    assert line_of(result, "will-juv")[1].strip() == "The feed address may have changed; check it in courtsync.toml."
