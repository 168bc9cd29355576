"""Smaller things a new user met: --config before the command, CSV booleans, check's formats, `| head`."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from courtsync.cli import cli
from tests.conftest import AS_OF, ROOT, Run
from tests.test_config import edit

Runner = Callable[..., Run]
COURTSYNC = [sys.executable, "-c", "from courtsync.cli import main; main()"]


def test_config_before_the_command_name_is_accepted(example_dir: Path, run: Runner) -> None:
    toml = example_dir / "courtsync.toml"
    check = ("check", "--worker", "w01", "--as-of", AS_OF, "--date", "2026-12-16")
    before = run("--config", toml, *check)
    after = run(*check, "--config", toml)
    assert before.exit_code == after.exit_code == 1, before.stderr
    assert before.stdout == after.stdout


def test_config_after_the_command_beats_before_it_then_the_environment_then_the_folder(
        example_dir: Path, tmp_path: Path, run: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "other"
    shutil.copytree(example_dir, other)
    edit(other / "courtsync.toml", 'name = "Cook North Training Center"', 'name = "Other North"')
    dates = ("dates", "--collaborative", "cook-north", "--as-of", AS_OF)

    def title(*args: object, env: dict[str, str] | None = None) -> str:
        result = run(*args, env=env)
        assert result.exit_code == 0, result.stderr
        return "Other" if "Other North" in result.stdout else "example"

    monkeypatch.chdir(example_dir)
    assert title(*dates) == "example"                                            # ./courtsync.toml
    env = {"COURTSYNC_CONFIG": str(other / "courtsync.toml")}
    assert title(*dates, env=env) == "Other"                                     # $COURTSYNC_CONFIG
    assert title("--config", example_dir / "courtsync.toml", *dates, env=env) == "example"   # --config first
    assert title("--config", other / "courtsync.toml", *dates, "--config", example_dir / "courtsync.toml") \
        == "example"                                                             # --config after wins


def test_check_help_offers_only_formats_it_has(example_dir: Path, run: Runner) -> None:
    help_text = run("check", "--help").stdout
    assert "[table|json|csv]" in help_text
    toml = example_dir / "courtsync.toml"
    for fmt in ("table", "json", "csv"):
        result = run("check", "--config", toml, "--worker", "w01", "--as-of", AS_OF, "--date", "2026-12-16",
                     "--format", fmt)
        assert result.exit_code == 1, (fmt, result.stderr)
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows and {r["verdict"] for r in rows} == {"conflict"} and rows[0]["worker_id"] == "w01"
    assert {r["reason_kind"] for r in rows} >= {"overlap"}
    for command in cli.commands.values():   # every --format help names only the choices it accepts
        for param in command.params:
            if param.name == "fmt":
                choices = set(param.type.choices)  # type: ignore[attr-defined]
                assert ("csv" in (param.help or "")) == ("csv" in choices), command.name


def test_csv_writes_true_and_false_in_lower_case(example_dir: Path, run: Runner) -> None:
    toml = example_dir / "courtsync.toml"
    events = run("events", "--config", toml, "--as-of", AS_OF, "--format", "csv")
    scan = run("scan", "--config", toml, "--as-of", AS_OF, "--format", "csv", "--offline")
    for result, column in ((events, "busy"), (events, "all_day"), (scan, "all_day")):
        values = {row[column] for row in csv.DictReader(io.StringIO(result.stdout))}
        assert values and values <= {"true", "false"}, (column, values)


def test_dates_piped_into_head_exits_0_without_a_traceback(example_dir: Path) -> None:
    # 1,000 sessions: far more than a pipe holds, so courtsync is still writing when head has gone.
    edit(example_dir / "courtsync.toml", "every = 2\ncount = 9", "every = 1\ncount = 1000")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    shell = (f"set -o pipefail; {' '.join(COURTSYNC[:2])} '{COURTSYNC[2]}' dates --all "
             f"--config {example_dir / 'courtsync.toml'} | head -n 1")
    done = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0 and done.stdout.startswith("All protected dates"), done.stderr
    assert done.stderr == ""


def test_a_reader_that_closes_the_pipe_at_once_gets_exit_0_and_silence(example_dir: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([*COURTSYNC, "dates", "--all", "--config", str(example_dir / "courtsync.toml")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()   # the reader is gone before a byte is written
    with proc.stderr:
        stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0, stderr
    assert stderr == ""


def test_the_readme_no_longer_says_the_digest_is_not_built_yet() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "not built yet" not in readme and "used by later commands" not in readme
    assert "courtsync digest" in readme


def test_configuration_errors_point_to_what_users_have_not_product_md(config_dir: Path, run: Runner) -> None:
    toml = config_dir / "courtsync.toml"
    edit(toml, "every = 2\nuntil", "evry = 2\nuntil")
    result = run("dates", "--config", toml)
    assert result.exit_code == 2
    assert "product.md" not in result.stderr
    assert "README" in result.stderr and "courtsync init" in result.stderr
    shipped = [p for p in (ROOT / "courtsync").rglob("*.py") if "product.md" in
               "".join(line for line in p.read_text().splitlines() if "hint=" in line or "Error(" in line)]
    assert not shipped
