"""The README's tours, typed as written, on an example made on any day: every documented exit code holds."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from tests.conftest import AS_OF, ROOT, Run

Runner = Callable[..., Run]
EXIT = re.compile(r"#\s*exit (\d)")
# Days `init` may run on: today, the tests' usual day, month ends, a year end, a leap February, and a May whose
# next month has Juneteenth on the Tuesday before its 3rd Wednesday.
INIT_DAYS = sorted({date.today(), AS_OF, date(2026, 1, 30), date(2027, 5, 28), date(2027, 12, 31),
                    date(2028, 2, 27), date(2029, 5, 15)})


def tour_commands() -> list[tuple[list[str], int | None]]:
    """Each `courtsync ...` line of the tours' sh blocks: its arguments and the exit code its comment promises."""
    text = (ROOT / "README.md").read_text()
    tours = text.split("## Five-minute tours", 1)[1].split("\n## ", 1)[0]
    out: list[tuple[list[str], int | None]] = []
    for block in re.findall(r"```sh\n(.*?)```", tours, re.S):
        for line in block.splitlines():
            stripped = line.strip()
            if stripped.startswith("#") and out:   # a comment on its own line describes the command above it
                if m := EXIT.search(stripped):
                    out[-1] = (out[-1][0], int(m.group(1)))
                continue
            if not stripped.startswith("courtsync "):
                continue
            m = EXIT.search(stripped)
            words = shlex.split(stripped, comments=True)
            cut = next((i for i, w in enumerate(words) if w in ("|", ">")), len(words))
            out.append((words[1:cut], int(m.group(1)) if m else None))
    return out


def test_the_tours_are_read_from_the_readme() -> None:
    commands = tour_commands()
    assert len(commands) >= 15
    assert sum(code is not None for _, code in commands) >= 5
    assert not any(re.search(r"\d{4}-\d{2}-\d{2}|\d{4}-W\d{2}", " ".join(args)) for args, _ in commands), \
        "a tour names a fixed date: it only holds for an example made on one day; use $SESSION, $FREE_DAY, $WEEK"


def example_on(day: date, tmp_path: Path, run: Runner) -> tuple[Path, dict[str, str]]:
    target = tmp_path / f"example-{day}"
    result = run("init", target, "--as-of", day)
    assert result.exit_code == 0, result.stderr
    variables = dict(re.findall(r"^(\w+)=(\S+)", (target / "tour.env").read_text(), re.M))
    for name, value in variables.items():   # init prints what tour.env holds
        assert f"{name}={value}" in result.stdout
    return target, variables


def run_tour(args: list[str], variables: dict[str, str], day: date, run: Runner) -> Run:
    typed = [re.sub(r"\$(\w+)", lambda m: variables[m.group(1)], a) for a in args]
    return run(*typed, "--as-of", day)


@pytest.mark.parametrize("day", INIT_DAYS, ids=str)
def test_the_readme_tours_exit_as_documented_whatever_day_init_ran(day: date, tmp_path: Path, run: Runner,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    target, variables = example_on(day, tmp_path, run)
    monkeypatch.chdir(target)
    for args, code in tour_commands():
        if code is None:
            continue
        result = run_tour(args, variables, day, run)
        assert result.exit_code == code, (args, variables, result.stdout, result.stderr)


def test_every_tour_command_runs_on_todays_example(tmp_path: Path, run: Runner,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    day = date.today()
    target, variables = example_on(day, tmp_path, run)
    monkeypatch.chdir(target)
    for args, code in tour_commands():
        if "--send" in args:   # needs a mail server: test_digest.py and test_notices.py send to one
            continue
        if args[0] == "notices":
            pytest.importorskip("weasyprint")
        result = run_tour(args, variables, day, run)
        assert result.exit_code in ((code,) if code is not None else (0, 1)), (args, result.stderr)
        assert "Traceback" not in result.stderr


def test_the_readme_first_command_finds_the_examples_conflicts(tmp_path: Path, run: Runner) -> None:
    """README: `courtsync init example && courtsync scan --config example/courtsync.toml` exits 1."""
    readme = (ROOT / "README.md").read_text()
    assert "courtsync init example && .venv/bin/courtsync scan --config example/courtsync.toml" in readme
    for day in INIT_DAYS:
        target, _ = example_on(day, tmp_path, run)
        assert run("scan", "--config", target / "courtsync.toml", "--as-of", day).exit_code == 1
