"""The derived caches in the store never hide a change to the files they came from."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import BACKEND, Run


def test_roster_edit_after_cached_run_is_seen(config_dir: Path, run: Callable[..., Run]) -> None:
    toml = config_dir / "courtsync.toml"
    args = ("check", "--config", toml, "--worker", "w1", "--date", "2027-04-20")
    assert run(*args).exit_code == 0
    assert (config_dir / "courtsync.db").exists() or BACKEND == "postgresql"
    workers = config_dir / "workers.csv"
    workers.write_text(workers.read_text() + "w3,Wu,wu@agency.example,caseworker,Chicago,s7,cook-north\n")
    result = run(*args)
    assert result.exit_code == 2 and "'s7' is not the id" in result.stderr
    workers.write_text(workers.read_text().replace(",s7,", ",s1,"))
    assert run("check", "--config", toml, "--worker", "w3", "--date", "2027-04-21").exit_code == 1


def test_schedule_edit_after_cached_run_is_validated(config_dir: Path, run: Callable[..., Run]) -> None:
    toml = config_dir / "courtsync.toml"
    assert run("dates", "--config", toml).exit_code == 0
    toml.write_text(toml.read_text().replace("count = 6\n", "count = 6\ncancelled = [2027-06-16]\n"))
    result = run("dates", "--config", toml)
    assert result.exit_code == 2 and "2027-06-16 is not a session date of cook-south" in result.stderr


def test_cached_holidays_still_flag(config_dir: Path, run: Callable[..., Run]) -> None:
    toml = config_dir / "courtsync.toml"
    args = ("dates", "--config", toml, "--collaborative", "kinship", "--all", "--format", "json",
            "--as-of", "2027-01-01")
    first = json.loads(run(*args).stdout)
    second = json.loads(run(*args).stdout)  # from the store's cache
    assert first == second
    assert second["sessions"][0]["holiday"] == "Lincoln's Birthday"


def test_unwritable_store_only_loses_the_cache(config_dir: Path, run: Callable[..., Run]) -> None:
    toml = config_dir / "courtsync.toml"
    toml.write_text(toml.read_text().replace('buffer = "60m"', 'buffer = "60m"\nstore = "no/such/dir/x.db"'))
    assert run("check", "--config", toml, "--worker", "w1", "--date", "2027-04-21").exit_code == 1


def test_caseload_cache_is_not_overwritten_by_the_roster_cache(config_dir: Path, run: Callable[..., Run]) -> None:
    """Bug found in development: both caches shared one key, so the second run lost the caseload
    (and recursed). `dates --court` reads the caseload from the cache on the second run."""
    toml = config_dir / "courtsync.toml"
    args = ("dates", "--config", toml, "--court", "cook-cpd", "--all", "--format", "json")
    first = json.loads(run(*args).stdout)
    second = json.loads(run(*args).stdout)
    assert first == second
    assert {s["collaborative_id"] for s in second["sessions"]} == {"cook-north", "kinship"}
