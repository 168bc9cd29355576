"""Exchange and Graph through the command line: sync reports round trips, events shows the items."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import responses

from tests.conftest import AS_OF, ROOT, Run
from tests.mail_fixtures import OPENID, TENANT, schedule_answer
from tests.test_graph import BASE, CLIENT

Runner = Callable[..., Run]


def with_graph(example_dir: Path) -> Path:
    toml = example_dir / "courtsync.toml"
    toml.write_text(toml.read_text() + f'\n[graph]\ntenant_id = "{TENANT}"\nclient_id = "{CLIENT}"\n'
                                       'client_secret_env = "COURTSYNC_GRAPH_SECRET"\nmode = "free-busy"\n')
    return toml


def test_sync_and_events_with_graph(example_dir: Path, run: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURTSYNC_GRAPH_SECRET", "s3cr3t")
    toml = with_graph(example_dir)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(f"https://login.microsoftonline.com/{TENANT}/v2.0/.well-known/openid-configuration", json=OPENID)
        mock.post(OPENID["token_endpoint"], json={"token_type": "Bearer", "expires_in": 3599, "access_token": "t"})
        mock.add_callback(responses.POST, re.compile(r"https://graph\.microsoft\.com/v1\.0/users/.*/getSchedule"),
                          callback=lambda r: (200, {}, json.dumps(schedule_answer(json.loads(r.body), BASE, set()))))
        result = run("sync", "--config", toml, "--as-of", AS_OF)
    assert result.exit_code == 0, result.stdout + result.stderr
    graph_line = next(line for line in result.stdout.splitlines() if line.startswith("graph"))
    # 30 mailboxes: 2 batches of 20 x 3 windows of 60 days, plus two sign-in requests.
    assert "8 request(s)" in graph_line and "30 of 30 events re-read" in graph_line
    assert "s3cr3t" not in result.stdout + result.stderr
    events = json.loads(run("events", "--config", toml, "--as-of", AS_OF, "--offline", "--source", "graph",
                            "--format", "json").stdout)
    assert events["sources"][0]["status"] == "ok"
    owners = {w for e in events["events"] for w in e["worker_ids"]}
    assert len(owners) > 20
    bad = [e for e in events["events"] if e["matched_by"] != {e["worker_ids"][0]: "own Outlook calendar"}]
    assert not bad, bad[:2]


def test_wrong_graph_secret_exits_3_with_a_clear_message(example_dir: Path, run: Runner,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURTSYNC_GRAPH_SECRET", "wrong")
    toml = with_graph(example_dir)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(f"https://login.microsoftonline.com/{TENANT}/v2.0/.well-known/openid-configuration", json=OPENID)
        mock.post(OPENID["token_endpoint"], status=401, json={"error": "invalid_client"})
        mock.get(re.compile(r"https://login\.microsoftonline\.com/common/discovery/instance.*"),
                 json={"tenant_discovery_endpoint": "x", "metadata": []})
        result = run("sync", "--config", toml, "--as-of", AS_OF, "--source", "graph")
    assert result.exit_code == 3
    assert "FAILED" in result.stdout and "invalid_client" in result.stdout


def test_both_mail_systems_is_a_config_error(example_dir: Path, run: Runner) -> None:
    toml = with_graph(example_dir)
    toml.write_text(toml.read_text() + '\n[exchange]\nendpoint = "https://mail.agency.example/EWS/Exchange.asmx"\n'
                                       'username = "svc"\npassword_env = "PW"\n')
    result = run("dates", "--config", toml)
    assert result.exit_code == 2 and "not both" in result.stderr


def test_check_does_not_load_mail_pdf_or_template_libraries(example_dir: Path) -> None:
    toml = example_dir / "courtsync.toml"  # court feeds, no [exchange] or [graph]
    code = ("import sys\nfrom courtsync.cli import main\nsys.argv = ['courtsync', 'check', '--config', "
            f"{str(toml)!r}, '--worker', 'w01', '--date', '2026-12-01']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('exchangelib', 'msal', 'weasyprint', 'jinja2', 'highspy', 'numpy') "
            "if m in sys.modules))")
    # cwd=ROOT: the child imports this checkout's courtsync, not whichever one is installed
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.stdout.strip().splitlines()[-1] == "[]", proc.stdout + proc.stderr
