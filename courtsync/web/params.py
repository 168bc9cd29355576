"""A request's query string read as the commands read their options: the same names, the same checks and the
same messages, so `/api/check?worker=w1&date=2027-06-16` means what `courtsync check --worker w1 --date
2027-06-16` does."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import date, time
from typing import TypeVar

from courtsync.config.fields import parse_day, parse_time_range
from courtsync.errors import UsageError

T = TypeVar("T")

MAX_QUERY = 4096   # bytes of query string; a longer one is refused (414)


class Query:
    """The parameters of one request; each read once, unknown ones refused by `check_known`."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.pairs = pairs

    def check_known(self, known: Collection[str]) -> None:
        unknown = sorted({k for k, _ in self.pairs} - set(known))
        if unknown:
            raise UsageError(f"Unknown parameter {unknown[0]!r}.", hint=f"Known here: {', '.join(sorted(known))}.")
        repeated = sorted({k for k, _ in self.pairs if k != "worker" and sum(1 for j, _ in self.pairs if j == k) > 1})
        if repeated:
            raise UsageError(f"Parameter {repeated[0]!r} is given more than once.")

    def text(self, name: str, required: bool = False) -> str | None:
        value = next((v for k, v in self.pairs if k == name), None)
        if value is not None:
            value = value.strip()
        if required and not value:
            raise UsageError(f"Missing parameter {name!r}.", hint=f"Add {name}=... to the query.")
        return value or None

    def texts(self, name: str) -> list[str]:
        return [v.strip() for k, v in self.pairs if k == name and v.strip()]

    def day(self, name: str) -> date | None:
        return self._parsed(name, parse_day)

    def time_range(self, name: str) -> tuple[time, time] | None:
        return self._parsed(name, parse_time_range)

    def _parsed(self, name: str, parse: Callable[[str], T]) -> T | None:
        """The parameter parsed as the command's option is (its message, naming the parameter), or None."""
        value = self.text(name)
        if value is None:
            return None
        try:
            return parse(value)
        except ValueError as exc:
            raise UsageError(f"Parameter {name!r}: {exc}") from None

    def number(self, name: str, low: int, high: int) -> int | None:
        value = self.text(name)
        if value is None:
            return None
        if not value.isdigit() or not low <= int(value) <= high:
            raise UsageError(f"Parameter {name!r}: {value[:20]!r} is not a whole number from {low} to {high}.")
        return int(value)

    def flag(self, name: str) -> bool:
        value = self.text(name)
        if value is None:
            return False
        if value.lower() in ("1", "true", "yes"):
            return True
        if value.lower() in ("0", "false", "no"):
            return False
        raise UsageError(f"Parameter {name!r}: {value[:20]!r} is not true or false.")
