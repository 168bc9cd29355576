"""Value types of courtsync.toml: durations, dates, times, ids, emails, holiday codes, with clear errors."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

_DURATION = re.compile(r"(\d+)\s*(d|h|m|min|s)", re.I)
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
EMAIL_PATTERN = re.compile(r"^[^@\s<>\"]+@[^@\s<>\".]+(\.[^@\s<>\".]+)+$")
HOLIDAY_CODE = re.compile(r"^([A-Z]{2,3})(?:-([A-Z0-9]{1,4}))?$")


def parse_duration(value: object) -> timedelta:
    """'60m', '1h', '1h30m', '2d', '0' -> timedelta; anything else is a clear error."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, str):
        text = value.strip().replace(" ", "")
        if text == "0":
            return timedelta(0)
        parts = _DURATION.findall(text)
        if parts and "".join(n + u for n, u in parts).lower() == text.lower():
            unit = {"d": "days", "h": "hours", "m": "minutes", "min": "minutes", "s": "seconds"}
            total = timedelta(0)
            for number, u in parts:
                total += timedelta(**{unit[u.lower()]: int(number)})
            return total
    raise ValueError(f'expected a duration such as "60m", "1h" or "1h30m", got {value!r}')


def _parse_date(value: object) -> date:
    if isinstance(value, datetime):
        raise ValueError(f"expected a date such as 2027-04-21, got a date and time {value.isoformat()}")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"expected a date such as 2027-04-21, got {value!r}")


def _parse_time(value: object) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, str):
        try:
            return time.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"expected a time of day such as 09:00:00, got {value!r}")


def _parse_id(value: object) -> str:
    if isinstance(value, str) and ID_PATTERN.match(value):
        return value
    raise ValueError(f"expected an id of letters, digits, '-', '_' or '.' (at most 64), got {value!r}")


def _parse_email(value: object) -> str:
    if isinstance(value, str) and EMAIL_PATTERN.match(value.strip()):
        return value.strip()
    raise ValueError(f"expected an email address such as clerk@example.org, got {value!r}")


def parse_holidays(value: object) -> str | list[date] | bool:
    if value is False:
        return False
    if isinstance(value, str):
        check_holiday_code(value.strip())
        return value.strip()
    if isinstance(value, list):
        return [_parse_date(v) for v in value]
    raise ValueError(f'expected a country and subdivision such as "US-IL", a list of dates, or false; '
                     f"got {value!r}")


DateValue = Annotated[date, BeforeValidator(_parse_date)]
TimeValue = Annotated[time, BeforeValidator(_parse_time)]
Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
Id = Annotated[str, BeforeValidator(_parse_id)]
Email = Annotated[str, BeforeValidator(_parse_email)]
EnvName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


def check_holiday_code(code: str) -> None:
    """The form only; whether the holidays package knows the code is checked where it is loaded."""
    if not HOLIDAY_CODE.match(code):
        raise ValueError(f'holidays = {code!r}: expected a country and subdivision such as "US-IL", '
                         "a list of dates, or false")


_REPEATS = {"MAX_REPEAT", "MIN_REPEAT"}


def pattern_risk(pattern: str) -> str | None:
    """Why a case_pattern could backtrack catastrophically (a variable repeat inside a repeat, as in '(a+)+'
    or '(\\d+-?)*'), or None. Walks the parse tree Python compiles the pattern from."""
    from re import _parser  # type: ignore[attr-defined]  # the parser behind re.compile: no public tree

    def varies(op: Any, av: Any) -> bool:
        return str(op) in _REPEATS and av[0] != av[1]

    def repeated_inside(items: Any) -> bool:
        """Whether `items` holds a repeat of variable length (possessive and atomic parts never backtrack)."""
        for op, av in items:
            name = str(op)
            if varies(op, av) or (name in _REPEATS and repeated_inside(av[2])):
                return True
            if name == "SUBPATTERN" and repeated_inside(av[3]):
                return True
            if name == "BRANCH" and any(repeated_inside(branch) for branch in av[1]):
                return True
        return False

    def walk(items: Any) -> str | None:
        for op, av in items:
            name = str(op)
            if name in _REPEATS and av[1] > 1 and repeated_inside(av[2]):
                return "case_pattern has a nested quantifier (a repeat inside a repeat, like '(a+)+')"
            inner = [av[2]] if name in _REPEATS or name == "POSSESSIVE_REPEAT" else \
                [av[3]] if name == "SUBPATTERN" else av[1] if name == "BRANCH" else \
                [av] if name == "ATOMIC_GROUP" else [av[1]] if name in ("ASSERT", "ASSERT_NOT") else []
            found = next((r for r in map(walk, inner) if r), None)
            if found:
                return found
        return None

    try:
        return walk(_parser.parse(pattern))
    except Exception:  # re.compile accepted it; a parser detail we do not know is not a reason to refuse
        return None
