"""courtsync.toml: lookup order, and every bad value reported with file, line and key."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from courtsync.config.fields import parse_duration
from courtsync.config.schema import load_config
from courtsync.errors import ConfigError
from tests.conftest import Run


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def error_of(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return info.value


def line_of(path: Path, needle: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def test_fixture_config_is_valid(config_dir: Path) -> None:
    cfg = load_config(config_dir / "courtsync.toml")
    assert cfg.timezone == "America/Chicago"
    assert cfg.buffer == timedelta(hours=1)
    assert cfg.max_age == timedelta(hours=1)
    assert cfg.workers_path == config_dir / "workers.csv"
    assert cfg.store == "courtsync.db" and cfg.resolve(cfg.store) == config_dir / "courtsync.db"
    assert cfg.courts()["cook-cpd"].buffer == timedelta(minutes=90)
    assert [c.id for c in cfg.collaborative] == ["cook-north", "cook-south", "kinship"]


def test_unknown_key_names_line_and_suggests(config_dir: Path) -> None:
    toml = config_dir / "courtsync.toml"
    edit(toml, 'every = 2\nuntil', 'evry = 2\nuntil')
    err = error_of(toml)
    (problem,) = err.problems
    assert problem.line == line_of(toml, "evry = 2")
    assert problem.key == "collaborative[0].evry"
    assert "did you mean 'every'" in problem.message


def test_unknown_table(config_dir: Path) -> None:
    toml = config_dir / "courtsync.toml"
    toml.write_text(toml.read_text() + '\n[exchnage]\nendpoint = "https://x"\n')
    (problem,) = error_of(toml).problems
    assert problem.key == "exchnage" and problem.line == line_of(toml, "[exchnage]")
    assert "exchange" in problem.message


def test_bad_date_names_its_line(config_dir: Path) -> None:
    toml = config_dir / "courtsync.toml"
    edit(toml, "until = 2028-06-30", 'until = "June 30"')
    (problem,) = error_of(toml).problems
    assert problem.key == "collaborative[0].until"
    assert problem.line == line_of(toml, 'until = "June 30"')
    assert "2027-04-21" in problem.message  # shows the expected form


def test_quoted_iso_date_is_accepted(config_dir: Path) -> None:
    toml = config_dir / "courtsync.toml"
    edit(toml, "until = 2028-06-30", 'until = "2028-06-30"')
    assert load_config(toml).collaborative[0].until.isoformat() == "2028-06-30"  # type: ignore[union-attr]


def test_missing_required_key(config_dir: Path) -> None:
    toml = config_dir / "courtsync.toml"
    edit(toml, 'timezone = "America/Chicago"\n', "")
    (problem,) = error_of(toml).problems
    assert problem.key == "timezone" and "add `timezone = ...`" in problem.message


def test_rule_needs_until_or_count(config_dir: Path) -> None:
    toml = config_dir / "courtsync.toml"
    edit(toml, "count = 6\n", "")
    (problem,) = error_of(toml).problems
    assert problem.key == "collaborative[1]"
    assert problem.line == line_of(toml, 'id = "cook-south"') - 1  # the [[collaborative]] header
    assert "until" in problem.message and "count" in problem.message


def test_end_before_start(config_dir: Path) -> None:
    toml = config_dir / "courtsync.toml"
    edit(toml, "start = 13:00:00\nend = 15:00:00", "start = 13:00:00\nend = 12:00:00")
    (problem,) = error_of(toml).problems
    assert "must be after start" in problem.message


def test_duplicate_collaborative_id(config_dir: Path) -> None:
    toml = config_dir / "courtsync.toml"
    edit(toml, 'id = "cook-south"', 'id = "cook-north"')
    err = error_of(toml)
    (problem,) = err.problems
    assert problem.key == "collaborative[1].id"
    second = [n for n, line in enumerate(toml.read_text().splitlines(), 1) if 'id = "cook-north"' in line][1]
    assert problem.line == second
    assert "already used" in problem.message


def test_liaison_naming_unknown_court(config_dir: Path) -> None:
    toml = config_dir / "courtsync.toml"
    toml.write_text(toml.read_text() + '\n[[liaison]]\nid = "l1"\nname = "Dana"\nemail = "d@agency.example"\n'
                                       'courts = ["cook-cdp"]\n')
    (problem,) = error_of(toml).problems
    assert problem.key == "liaison[0].courts" and "cook-cdp" in problem.message
    assert problem.line == line_of(toml, 'courts = ["cook-cdp"]')


@pytest.mark.parametrize(("old", "new", "needle"), [
    ('timezone = "America/Chicago"', 'timezone = "Central Time"', "IANA"),
    ('holidays = "US-IL"', 'holidays = "Illinois"', "US-IL"),
    ('holidays = "US-IL"', "holidays = true", "false"),
    ('buffer = "60m"', "buffer = 60", "60m"),
    ('buffer = "60m"', 'buffer = "an hour"', "60m"),
    ('email = "clerk@example.org"', 'email = "clerk at example.org"', "email address"),
    ("case_pattern = '\\d{4}-J[AD]-\\d{3,6}'", "case_pattern = '\\d{4}-J[AD'", "regular expression"),
    ('kind = "affinity-group"', 'kind = "affinity"', "affinity-group"),
])
def test_bad_values(config_dir: Path, old: str, new: str, needle: str) -> None:
    toml = config_dir / "courtsync.toml"
    edit(toml, old, new)
    (problem,) = error_of(toml).problems
    assert needle in problem.message
    assert problem.line == line_of(toml, new.split("\n")[0])


def test_toml_syntax_error_has_line(config_dir: Path) -> None:
    toml = config_dir / "courtsync.toml"
    edit(toml, 'buffer = "60m"', 'buffer = "60m')
    err = error_of(toml)
    assert "not valid TOML" in err.message
    assert err.problems[0].line == line_of(toml, 'buffer = "60m')


def test_durations() -> None:
    assert parse_duration("90m") == timedelta(minutes=90)
    assert parse_duration("1h30m") == timedelta(minutes=90)
    assert parse_duration("2d") == timedelta(days=2)
    assert parse_duration("0") == timedelta(0)
    with pytest.raises(ValueError):
        parse_duration("90 minutes please")


def test_lookup_order(config_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "other"
    other.mkdir()
    for f in config_dir.iterdir():
        (other / f.name).write_bytes(f.read_bytes())
    edit(other / "courtsync.toml", 'buffer = "60m"', 'buffer = "15m"')
    # ./courtsync.toml
    monkeypatch.chdir(config_dir)
    assert load_config().buffer == timedelta(minutes=60)
    # $COURTSYNC_CONFIG beats the current folder
    monkeypatch.setenv("COURTSYNC_CONFIG", str(other / "courtsync.toml"))
    assert load_config().buffer == timedelta(minutes=15)
    # --config beats the environment
    assert load_config(config_dir / "courtsync.toml").buffer == timedelta(minutes=60)


def test_no_config_found_says_how_to_fix(tmp_path: Path, run: Callable[..., Run]) -> None:
    result = run("dates")
    assert result.exit_code == 2
    assert "No configuration at courtsync.toml" in result.stderr
    assert "courtsync init" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_bad_config_via_cli_exits_2_with_location(config_dir: Path, run: Callable[..., Run]) -> None:
    toml = config_dir / "courtsync.toml"
    edit(toml, "every = 2\nuntil", "evry = 2\nuntil")
    result = run("check", "--config", toml, "--worker", "w1", "--date", "2027-04-21")
    assert result.exit_code == 2
    assert f"{toml}:{line_of(toml, 'evry')} collaborative[0].evry: unknown key" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_cancelled_date_not_in_schedule_names_key_and_line(config_dir: Path,
                                                          run: Callable[..., Run]) -> None:
    toml = config_dir / "courtsync.toml"
    edit(toml, "until = 2028-06-30\n", "until = 2028-06-30\ncancelled = [2027-08-19]\n")
    result = run("dates", "--config", toml)
    assert result.exit_code == 2
    assert f":{line_of(toml, 'cancelled = [2027-08-19]')} collaborative[0].cancelled" in result.stderr
    assert "2027-08-19 is not a session date of cook-north" in result.stderr


@pytest.mark.parametrize(("code", "needle"), [("US-XX", "'XX' is not a subdivision of US"),
                                              ("QQ", "'QQ' is not a country")])
def test_unknown_holiday_code_names_the_key(config_dir: Path, run: Callable[..., Run], code: str,
                                            needle: str) -> None:
    toml = config_dir / "courtsync.toml"
    edit(toml, 'holidays = "US-IL"', f'holidays = "{code}"')
    result = run("dates", "--config", toml)
    assert result.exit_code == 2
    assert f"{toml}:{line_of(toml, 'holidays =')} holidays: '{code}': " in result.stderr
    assert needle in result.stderr and "Traceback" not in result.stderr


def test_courtsync_store_in_the_environment_replaces_store(config_dir: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COURTSYNC_STORE", raising=False)
    cfg = load_config(config_dir / "courtsync.toml")
    assert (cfg.store_url, cfg.store_path) == (None, config_dir / "courtsync.db")
    monkeypatch.setenv("COURTSYNC_STORE", "postgresql://courtsync@db.agency.example/courtsync")
    assert cfg.store_url == "postgresql://courtsync@db.agency.example/courtsync"
    monkeypatch.setenv("COURTSYNC_STORE", "other.db")
    assert (cfg.store_url, cfg.store_path) == (None, config_dir / "other.db")
