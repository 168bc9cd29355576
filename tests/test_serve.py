"""`courtsync serve`: a real uvicorn on a loopback port, spoken to over HTTP (httpx), on the `init` example."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import AS_OF
from tests.smtp_server import free_port

CHECK_DAY = "2027-01-20"


def _start(config: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "courtsync", "serve", "--config", str(config), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return proc, base
        except httpx.TransportError:
            time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"the server did not start: {proc.communicate()[0].decode()[-2000:]}")


@pytest.fixture
def served(example_dir: Path, run: Callable[..., object]) -> Iterator[tuple[Path, str]]:
    config = example_dir / "courtsync.toml"
    # No background refresh: the answers are compared with the commands' at AS_OF, on the copies read for it.
    config.write_text(config.read_text() + '\n[server]\nauth = "none"\nrefresh = "0s"\n')
    run("sync", "--config", str(config), "--as-of", AS_OF.isoformat())
    proc, base = _start(config)
    yield config, base
    proc.terminate()
    log = proc.communicate(timeout=10)[0].decode()
    assert "Traceback" not in log, log


def _worker(config: Path) -> str:
    return (config.parent / "workers.csv").read_text().splitlines()[1].split(",", 1)[0]


def test_a_check_over_http_is_the_commands_json(served: tuple[Path, str], run: Callable[..., object]) -> None:
    config, base = served
    worker = _worker(config)
    answer = httpx.get(f"{base}/api/check", params={"worker": worker, "date": CHECK_DAY, "as_of": AS_OF.isoformat()})
    cli = run("check", "--config", str(config), "--worker", worker, "--date", CHECK_DAY, "--offline", "--format",
              "json", "--as-of", AS_OF.isoformat())
    assert answer.status_code == 200
    assert answer.json() == json.loads(cli.stdout)   # type: ignore[attr-defined]
    assert answer.headers["x-courtsync-exit"] == str(cli.exit_code)   # type: ignore[attr-defined]
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]


def test_a_scan_over_http_is_the_commands_json(served: tuple[Path, str], run: Callable[..., object]) -> None:
    config, base = served
    answer = httpx.get(f"{base}/api/scan", params={"as_of": AS_OF.isoformat()})
    cli = run("scan", "--config", str(config), "--offline", "--format", "json", "--as-of", AS_OF.isoformat())
    assert answer.json() == json.loads(cli.stdout)   # type: ignore[attr-defined]
    assert answer.json()["conflicts"], "the example has conflicts"
    assert answer.headers["x-courtsync-exit"] == "1"


@pytest.mark.parametrize(("query", "status", "says"), [
    ({"worker": "nobody"}, 404, "No worker with id 'nobody'"),
    ({"worker": "{w}", "date": "2027-13-01"}, 400, "is not a date"),
    ({"worker": "{w}", "time": "15:00-13:00"}, 400, "ends before it starts"),
    ({"worker": "{w}", "time": "13:00-15:00"}, 400, "time and suggest go with date"),
    ({"worker": "{w}", "bogus": "1"}, 400, "Unknown parameter 'bogus'"),
    ({"worker": "{w}", "suggest": "999", "date": CHECK_DAY}, 400, "whole number from 0 to 60"),
    ({}, 400, "Missing parameter 'worker'"),
])
def test_bad_requests_get_the_commands_message_as_json(served: tuple[Path, str], query: dict[str, str], status: int,
                                                       says: str) -> None:
    config, base = served
    params = {k: v.replace("{w}", _worker(config)) for k, v in query.items()}
    answer = httpx.get(f"{base}/api/check", params=params)
    assert answer.status_code == status
    assert says in answer.json()["error"]


def test_a_huge_query_string_is_refused(served: tuple[Path, str]) -> None:
    _, base = served
    answer = httpx.get(f"{base}/api/check", params={"worker": "x" * 6000})
    assert answer.status_code == 414


def test_readyz_gives_each_court_sources_status(served: tuple[Path, str]) -> None:
    _, base = served
    ready = httpx.get(f"{base}/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
    # (synced "as of" the example's day: against today's window the copies may be stale, never errors)
    assert {c["id"] for c in ready.json()["courts"]} == {"cook-cpd", "will-juv"}
    assert {c["status"] for c in ready.json()["courts"]} <= {"ok", "stale"}


@pytest.mark.sqlite_only
def test_readyz_is_503_when_the_store_cannot_be_read_and_the_server_recovers(served: tuple[Path, str]) -> None:
    config, base = served
    store = config.parent / "courtsync.db"
    saved = store.read_bytes()
    store.write_bytes(b"this is not a database" * 100)
    try:
        assert httpx.get(f"{base}/readyz").status_code == 503
    finally:
        store.write_bytes(saved)
    assert httpx.get(f"{base}/readyz").status_code == 200


def _header_config(config: Path, proxies: str) -> None:
    text = config.read_text().replace('[server]\nauth = "none"\nrefresh = "0s"\n', "")
    config.write_text(text + f'\n[server]\nauth = "header"\ntrusted_proxies = [{proxies}]\n'
                             'admins = ["lc-office@agency.example"]\n')


def test_who_sees_what_behind_the_sign_on_proxy(served: tuple[Path, str]) -> None:
    config, base = served
    _header_config(config, '"127.0.0.1"')   # each request reads the configuration: no restart needed
    rows = {r[0]: r for r in (line.split(",") for line in (config.parent / "workers.csv").read_text().splitlines()[1:])}
    boss, report = rows["s01"], rows["w01"]                                    # w01 reports to s01
    stranger = next(r for r in rows.values() if r[5] == "s02")                # someone on another team
    assert report[5] == boss[0] and boss[5] == "a001"

    def ask(email: str | None, worker: str) -> int:
        headers = {"X-Forwarded-Email": email} if email is not None else {}
        return httpx.get(f"{base}/api/check", params={"worker": worker, "date": CHECK_DAY},
                         headers=headers).status_code

    assert ask(None, report[0]) == 401
    assert ask("someone@else.example", report[0]) == 403
    assert ask(report[2], report[0]) == 200          # their own
    assert ask(report[2].upper(), report[0]) == 200  # emails compare without case
    assert ask(report[2], boss[0]) == 403            # not their supervisor's
    assert ask(boss[2], "a001") == 403               # nor a supervisor their own manager's
    assert ask(boss[2], report[0]) == 200            # a supervisor: their report's
    assert ask(boss[2], stranger[0]) == 403
    assert ask(boss[2], "nobody") == 403             # says nothing of whether the id exists
    assert ask("lc-office@agency.example", "nobody") == 404   # an admin may learn it does not
    scan = httpx.get(f"{base}/api/scan", headers={"X-Forwarded-Email": report[2]}).json()
    assert {c["worker_id"] for c in scan["conflicts"]} <= {report[0]}


def test_the_user_header_is_not_taken_from_an_untrusted_address(served: tuple[Path, str]) -> None:
    config, base = served
    _header_config(config, '"10.9.9.9"')
    admin = {"X-Forwarded-Email": "lc-office@agency.example"}
    answer = httpx.get(f"{base}/api/scan", headers=admin)
    assert answer.status_code == 401


def test_auth_none_refuses_to_listen_beyond_loopback(served: tuple[Path, str]) -> None:
    config, _ = served
    proc = subprocess.run([sys.executable, "-m", "courtsync", "serve", "--config", str(config), "--host", "0.0.0.0",
                           "--port", str(free_port())], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "only listens on loopback" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_the_background_refresh_reads_the_sources_so_requests_never_have_to(example_dir: Path) -> None:
    config = example_dir / "courtsync.toml"   # never synced: every source unread
    config.write_text(config.read_text() + '\n[server]\nauth = "none"\nrefresh = "1s"\n')
    proc, base = _start(config)
    try:
        for _ in range(300):
            ready = httpx.get(f"{base}/readyz", timeout=10).json()
            if ready.get("sources") == {"ok": 2}:
                break
            time.sleep(0.1)
        assert ready["sources"] == {"ok": 2}, ready
        answer = httpx.get(f"{base}/api/check", params={"worker": _worker(config), "date": CHECK_DAY}, timeout=10)
        assert answer.json()["verdict"] != "unknown", answer.text
    finally:
        proc.terminate()
        log = proc.communicate(timeout=10)[0].decode()
    assert "refresh: 2 source(s) read again, 0 not" in log, log
    assert "feeds/" not in log and "Traceback" not in log, log   # counts only: a label may be a private URL


def test_a_commit_while_the_server_runs_changes_its_answers(served: tuple[Path, str],
                                                             run: Callable[..., object]) -> None:
    """The server keeps the configuration and roster between requests; the enrollments it reads per request."""
    config, base = served

    def sites(worker: str) -> set[str]:
        answer = httpx.get(f"{base}/api/dates", params={"worker": worker, "as_of": AS_OF.isoformat()})
        assert answer.status_code == 200, answer.text
        return {s["collaborative_id"] for s in answer.json()["sessions"]}

    assert sites("w19") == {"cook-regional", "cook-south"}
    result = run("enroll", "--config", str(config), "--as-of", AS_OF.isoformat(), "--commit")
    assert result.exit_code == 0   # type: ignore[attr-defined]
    assert sites("w19") == {"cook-regional", "will-joliet"}
