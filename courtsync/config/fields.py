"""Value types of courtsync.toml: durations, dates, times, ids, emails, holiday codes, with clear errors."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

_DURATION = re.compile(r"(\d+)\s*(d|h|m|min|s)", re.I)
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
EMAIL_PATTERN = re.compile(r"^[^@\s<>\"]+@[^@\s<>\".]+(\.[^@\s<>\".]+)+$")
HOLIDAY_CODE = re.compile(r"^([A-Z]{2,3})(?:-([A-Z0-9]{1,4}))?$")
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "min": 60, "s": 1}
# Bounds that keep every later date computation in range (a buffer of "99999999999d" used to overflow).
MAX_DURATION = timedelta(days=30)     # buffers, max_age, max_wait, deadlines
MAX_HORIZON = timedelta(days=731)     # how far ahead a mailbox is read: the calendars reach 24 months ahead
DATE_RANGE = (date(1900, 1, 1), date(2199, 12, 31))   # config dates, and dates given on the command line


def parse_duration(value: object, limit: timedelta = MAX_DURATION) -> timedelta:
    """'60m', '1h', '1h30m', '2d', '0' -> timedelta, at most `limit`; anything else is a clear error."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, str):
        text = value.strip().replace(" ", "")
        if text == "0":
            return timedelta(0)
        parts = _DURATION.findall(text)
        if parts and "".join(n + u for n, u in parts).lower() == text.lower():
            seconds = sum(int(number) * _UNIT_SECONDS[u.lower()] for number, u in parts)
            if seconds > limit.total_seconds():
                raise ValueError(f'{value!r} is longer than the most allowed here, {limit.days} days '
                                 f'("{limit.days}d")')
            return timedelta(seconds=seconds)
    raise ValueError(f'expected a duration such as "60m", "1h" or "1h30m", got {value!r}')


def _parse_horizon(value: object) -> timedelta:
    return parse_duration(value, MAX_HORIZON)


def check_date_range(value: date) -> date:
    first, last = DATE_RANGE
    if not first <= value <= last:
        raise ValueError(f"{value.isoformat()} is outside the dates courtsync plans for ({first.year} to "
                         f"{last.year}); check the year")
    return value


def _parse_date(value: object) -> date:
    if isinstance(value, datetime):
        raise ValueError(f"expected a date such as 2027-04-21, got a date and time {value.isoformat()}")
    if isinstance(value, date):
        return check_date_range(value)
    if isinstance(value, str):
        try:
            parsed = date.fromisoformat(value.strip())
        except ValueError:
            pass
        else:
            return check_date_range(parsed)
    raise ValueError(f"expected a date such as 2027-04-21, got {value!r}")


def parse_day(text: str) -> date:
    """A date typed on the command line, within DATE_RANGE."""
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a date; write it as YYYY-MM-DD, e.g. 2027-06-16") from None
    return check_date_range(day)


def parse_time_range(text: str) -> tuple[time, time]:
    """'13:30-15:00', typed on the command line."""
    text = text.strip()
    try:
        a, b = (time.fromisoformat(part.strip()) for part in text.split("-", 1))
    except ValueError:
        raise ValueError(f"{text!r} is not a time range; write it as HH:MM-HH:MM, e.g. 13:30-15:00") from None
    if b <= a:
        raise ValueError(f"{text!r} ends before it starts; write HH:MM-HH:MM with the end later")
    return a, b


def _parse_path(value: object) -> str:
    """A file path or URL from the config: no NUL, which no file system accepts (it used to crash the first
    command that opened the file)."""
    if not isinstance(value, str):
        raise ValueError(f"expected a path in quotes, got {value!r}")
    if "\x00" in value:
        raise ValueError(f"{value!r} contains a NUL character (\\0 or \\u0000); remove it")
    return value


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


def _one_line(value: object) -> object:
    """Text that ends up in an email header (a sender, a name in a subject): a line break there would end the
    header (and could smuggle in another), so it is refused where it is written."""
    if isinstance(value, str) and ("\r" in value or "\n" in value):
        raise ValueError(f"must be on one line: remove the line break in {value!r}")
    return value


DateValue = Annotated[date, BeforeValidator(_parse_date)]
TimeValue = Annotated[time, BeforeValidator(_parse_time)]
Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
MIN_DEADLINE = timedelta(seconds=1)


def _long_enough(value: timedelta) -> timedelta:
    """A deadline shorter than this abandons every re-read before it starts: no command would ever read."""
    if value < MIN_DEADLINE:
        raise ValueError(f"must be at least {int(MIN_DEADLINE.total_seconds())} s (the default is \"10s\"): "
                         "shorter, no command ever has time to read a calendar")
    return value


Deadline = Annotated[timedelta, BeforeValidator(parse_duration), AfterValidator(_long_enough)]
Horizon = Annotated[timedelta, BeforeValidator(_parse_horizon)]
MakeupWindow = Annotated[timedelta, BeforeValidator(lambda v: parse_duration(v, timedelta(days=366)))]
PathText = Annotated[str, BeforeValidator(_parse_path)]
Id = Annotated[str, BeforeValidator(_parse_id)]
Email = Annotated[str, BeforeValidator(_parse_email)]
EnvName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
OneLine = Annotated[str, BeforeValidator(_one_line)]


def check_holiday_code(code: str) -> None:
    """The form only; whether the holidays package knows the code is checked where it is loaded."""
    if not HOLIDAY_CODE.match(code):
        raise ValueError(f'holidays = {code!r}: expected a country and subdivision such as "US-IL", '
                         "a list of dates, or false")


_REPEATS = {"MAX_REPEAT", "MIN_REPEAT"}


@lru_cache(maxsize=256)   # a state's courts often share one pattern: each distinct one is walked once
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


class Strict(BaseModel):
    """A table of courtsync.toml: unknown keys are errors, and the validated value is frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)
