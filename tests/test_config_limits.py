"""Configuration values that used to crash with a traceback: each is exit 2 naming the key or the row."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Run
from tests.test_config import edit, line_of

Runner = Callable[..., Run]


def fails_cleanly(result: Run, *needles: str) -> None:
    assert result.exit_code == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr   # (an exception other than SystemExit is re-raised by `run`)
    for needle in needles:
        assert needle in result.stderr, (needle, result.stderr)


def fails_at_the_edit(config_dir: Path, run: Runner, old: str, new: str, key: str, command: str,
                      *needles: str) -> None:
    """Replace `old` by `new` in courtsync.toml: `command` exits 2 naming the file, the line of the edit and `key`."""
    toml = config_dir / "courtsync.toml"
    edit(toml, old, new)
    line = line_of(toml, new.splitlines()[-1])
    fails_cleanly(run(command, "--config", toml, *(("--offline",) if command == "scan" else ())),
                  f"{toml}:{line} {key}", *needles)


EXCHANGE = ('\n[exchange]\nendpoint = "https://mail.agency.example/EWS/Exchange.asmx"\nusername = "svc"\n'
            'password_env = "PW"\n')


@pytest.mark.parametrize(("old", "new", "key"), [
    ('buffer = "60m"', 'buffer = "99999999999d"', "buffer"),
    ('buffer = "60m"', 'buffer = "60m"\nmax_age = "99999999999999999999999d"', "max_age"),
    ('buffer = "90m"', 'buffer = "31d"', "court[0].buffer"),
    ('buffer = "60m"', 'buffer = "720h1m"', "buffer"),
])
def test_a_buffer_of_99999999999d_is_exit_2_naming_the_key(config_dir: Path, run: Runner, old: str, new: str,
                                                          key: str) -> None:
    fails_at_the_edit(config_dir, run, old, new, key + ": ", "dates", 'the most allowed here, 30 days ("30d")')


def test_a_mailbox_horizon_may_be_long_but_not_unbounded(config_dir: Path, run: Runner) -> None:
    toml = config_dir / "courtsync.toml"
    toml.write_text(toml.read_text() + EXCHANGE + 'horizon = "400d"\n')
    assert run("dates", "--config", toml).exit_code == 0
    edit(toml, 'horizon = "400d"', 'horizon = "99999999999d"')
    fails_cleanly(run("dates", "--config", toml), "exchange.horizon: ", "731 days")


@pytest.mark.parametrize(("old", "new", "key"), [
    ('buffer = "60m"', 'buffer = "60m"\nstore = "state\\u0000.db"', "store"),
    ('workers = "workers.csv"', 'workers = "workers\\u0000.csv"', "roster.workers"),
    ('caseload = "caseload.csv"', 'caseload = "case\\u0000load.csv"', "roster.caseload"),
    ('buffer = "90m"', 'buffer = "90m"\nfeeds = ["feeds/cook\\u0000.ics"]', "court[0].feeds"),
])
def test_nul_in_a_path_is_exit_2_naming_the_key(config_dir: Path, run: Runner, old: str, new: str,
                                               key: str) -> None:
    fails_at_the_edit(config_dir, run, old, new, key, "sync", "contains a NUL character")


def test_nul_in_the_calendar_column_is_exit_2_naming_the_row(config_dir: Path, run: Runner) -> None:
    workers = config_dir / "workers.csv"
    rows = workers.read_text().splitlines()
    rows = [rows[0] + ",calendar", *(r + "," for r in rows[1:])]
    rows[2] += "feeds/own\x00.ics"
    workers.write_text("\n".join(rows) + "\n")
    fails_cleanly(run("sync", "--config", config_dir / "courtsync.toml"), f"{workers}:3: contains a NUL character")


def test_toml_nested_thousands_deep_is_exit_2(config_dir: Path, run: Runner) -> None:
    toml = config_dir / "courtsync.toml"
    toml.write_text(toml.read_text() + "deep = " + "[" * 5000 + "]" * 5000 + "\n")
    fails_cleanly(run("dates", "--config", toml), f"{toml} is nested too deeply")


def test_an_integer_of_5000_digits_is_exit_2_naming_its_line(config_dir: Path, run: Runner) -> None:
    toml = config_dir / "courtsync.toml"
    edit(toml, "every = 2", "every = " + "1" * 5000)
    fails_cleanly(run("dates", "--config", toml), f"{toml}:{line_of(toml, 'every = 111')}: a number with thousands")


@pytest.mark.parametrize("depth", [50, 200, 400])
def test_toml_nested_less_deep_is_an_unknown_key(config_dir: Path, run: Runner, depth: int) -> None:
    toml = config_dir / "courtsync.toml"
    edit(toml, 'buffer = "60m"', 'buffer = "60m"\ndeep = ' + "[" * depth + "]" * depth)
    result = run("dates", "--config", toml)
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert "deep" in result.stderr


def test_a_csv_field_over_the_csv_limit_is_exit_2_naming_file_and_row(config_dir: Path, run: Runner) -> None:
    workers = config_dir / "workers.csv"
    rows = workers.read_text().splitlines()
    rows[2] = rows[2].replace("Wendy Worker", '"Wendy ' + "x" * 200_000 + '"')
    workers.write_text("\n".join(rows) + "\n")
    fails_cleanly(run("dates", "--config", config_dir / "courtsync.toml"),
                  f"{workers}:3: a field runs on for more than 131072 characters", "never closed")


def test_an_unclosed_quote_swallowing_a_large_caseload_is_exit_2_naming_its_row(config_dir: Path,
                                                                               run: Runner) -> None:
    caseload = config_dir / "caseload.csv"
    lines = caseload.read_text().splitlines()
    body = [f"2027-JA-{n:06d},w1,cook-cpd" for n in range(12_000)]
    caseload.write_text("\n".join([lines[0], *body[:5], '"2027-JA-999999,w1,cook-cpd', *body[5:]]) + "\n")
    fails_cleanly(run("scan", "--config", config_dir / "courtsync.toml", "--offline"), f"{caseload}:7: ")


@pytest.mark.parametrize(("old", "new", "key"), [
    ("first_session = 2027-04-21", "first_session = 0001-01-03", "collaborative[0].first_session"),
    ("first_session = 2027-04-21", "first_session = 1899-12-20", "collaborative[0].first_session"),
    ("until = 2028-06-30", "until = 9999-12-31", "collaborative[0].until"),
    ("dates = [2027-02-12, 2027-05-07]", "dates = [2027-02-12, 9999-12-31]", "collaborative[2].dates"),
    ("until = 2028-06-30", "until = 2028-06-30\nadded = [9999-12-31]", "collaborative[0].added"),
])
def test_a_date_before_1900_or_in_year_9999_is_exit_2_naming_the_key(config_dir: Path, run: Runner, old: str,
                                                                     new: str, key: str) -> None:
    fails_at_the_edit(config_dir, run, old, new, key, "scan", "1900 to 2199")


@pytest.mark.parametrize("args", [("check", "--worker", "w1", "--date", "9999-12-31"),
                                  ("check", "--worker", "w1", "--date", "0001-01-01"),
                                  ("scan", "--to", "9999-12-31"), ("events", "--to", "9999-12-31"),
                                  ("notices", "--from", "9999-12-01"), ("dates", "--as-of", "0001-01-01"),
                                  ("digest", "--week", "9999-W52"), ("digest", "--week", "0001-W01")])
def test_a_command_line_date_in_year_1_or_9999_is_exit_2(config_dir: Path, run: Runner,
                                                         args: tuple[str, ...]) -> None:
    fails_cleanly(run(*args, "--config", config_dir / "courtsync.toml", "--offline" if args[0] != "dates" else
                      "--all"), "1900 to 2199")


def test_a_folder_given_as_the_config_is_exit_2(config_dir: Path, run: Runner) -> None:
    fails_cleanly(run("dates", env={"COURTSYNC_CONFIG": str(config_dir)}), f"{config_dir} (from $COURTSYNC_CONFIG): a "
                  "folder, not a file")


def test_a_non_utf8_config_is_exit_2(config_dir: Path, run: Runner) -> None:
    toml = config_dir / "courtsync.toml"
    toml.write_bytes(toml.read_bytes().replace(b"Cook North", b"Cook \xe9 North"))
    fails_cleanly(run("dates", "--config", toml), "is not UTF-8")
