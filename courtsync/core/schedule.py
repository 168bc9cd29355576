"""PURE: a collaborative's rule and overrides -> its protected sessions, flagged on court holidays."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from courtsync.models import Collaborative, Rule, Session

HolidayName = Callable[[date], "str | None"]


class ScheduleError(ValueError):
    """An override that does not fit the schedule; `key` names the collaborative's setting."""

    def __init__(self, collaborative_id: str, key: str, message: str) -> None:
        super().__init__(message)
        self.collaborative_id = collaborative_id
        self.key = key
        self.message = message


def ordinal(day: date) -> int:
    """Which occurrence of its weekday `day` is in its month: 1..5."""
    return (day.day - 1) // 7 + 1


def rule_dates(rule: Rule) -> list[date]:
    """The rule's own dates: first_session's ordinal weekday every `every` months (5th -> last)."""
    from dateutil.rrule import FR, MO, MONTHLY, SA, SU, TH, TU, WE, rrule  # loads when sessions are computed

    n = ordinal(rule.first)
    weekday = (MO, TU, WE, TH, FR, SA, SU)[rule.first.weekday()](-1 if n == 5 else n)
    start = datetime.combine(rule.first, time())
    if rule.until is not None:
        dates = rrule(MONTHLY, interval=rule.every, byweekday=weekday, dtstart=start,
                      until=datetime.combine(rule.until, time()))
    else:
        dates = rrule(MONTHLY, interval=rule.every, byweekday=weekday, dtstart=start, count=rule.count)
    return [d.date() for d in dates]


def session_uid(collaborative_id: str, day: date) -> str:
    """Stable per collaborative and original date, so a moved session keeps its identity."""
    return f"{collaborative_id}-{day:%Y%m%d}@courtsync"


def _at(day: date, clock: time, tz: ZoneInfo) -> datetime:
    # Round-trip through UTC so a wall time in a DST gap becomes a real instant.
    return datetime.combine(day, clock, tzinfo=tz).astimezone(ZoneInfo("UTC")).astimezone(tz)


def sessions(collab: Collaborative, tz: ZoneInfo, holiday_name: HolidayName) -> list[Session]:
    """Every session of one collaborative, cancelled ones included (status='cancelled'), by date."""
    if collab.rule is not None:
        base, origin = rule_dates(collab.rule), "rule"
    else:
        base, origin = sorted(set(collab.dates)), "dates"
    base_set = set(base)

    def fail(key: str, message: str) -> ScheduleError:
        return ScheduleError(collab.id, key, message)

    def listing() -> str:
        shown = ", ".join(d.isoformat() for d in base[:12])
        return shown + (" ..." if len(base) > 12 else "")

    cancelled = set(collab.cancelled)
    for d in collab.cancelled:
        if d not in base_set:
            raise fail("cancelled", f"{d} is not a session date of {collab.id} (its dates: {listing()}); "
                                    "remove it or correct it")
    moved_to: dict[date, date] = {}
    moved_from: dict[date, date] = {}
    for move in collab.moved:
        if move.from_date not in base_set:
            raise fail("moved", f"from = {move.from_date} is not a session date of {collab.id} "
                                f"(its dates: {listing()})")
        if move.from_date in cancelled:
            raise fail("moved", f"{move.from_date} is both cancelled and moved; keep one")
        if move.from_date in moved_from:
            raise fail("moved", f"{move.from_date} is moved twice; keep one move")
        if move.to_date in base_set and move.to_date not in cancelled and move.to_date not in moved_from:
            raise fail("moved", f"to = {move.to_date} already has a session of {collab.id}")
        if move.to_date in moved_to:
            raise fail("moved", f"two sessions are moved to {move.to_date}")
        moved_from[move.from_date] = move.to_date
        moved_to[move.to_date] = move.from_date
    for d in collab.added:
        if (d in base_set and d not in cancelled and d not in moved_from) or d in moved_to:
            raise fail("added", f"{d} already has a session of {collab.id}; remove it from added")
    if len(set(collab.added)) != len(collab.added):
        raise fail("added", "a date is listed twice")

    def make(day: date, uid_day: date, **kw: object) -> Session:
        return Session(collaborative_id=collab.id, uid=session_uid(collab.id, uid_day), day=day,
                       start=_at(day, collab.start, tz), end=_at(day, collab.end, tz),
                       holiday=holiday_name(day), **kw)  # type: ignore[arg-type]

    out: list[Session] = []
    for d in base:
        if d in cancelled:
            out.append(make(d, d, status="cancelled", origin=origin))
        elif d in moved_from:
            out.append(make(moved_from[d], d, origin="moved", moved_from=d))
        else:
            out.append(make(d, d, origin=origin))
    out.extend(make(d, d, origin="added") for d in collab.added)
    out.sort(key=lambda s: (s.start, s.collaborative_id))
    return out


def between(items: Iterable[Session], first: date | None, last: date | None) -> list[Session]:
    """Sessions whose local date lies in [first, last], both inclusive; None means open."""
    return [s for s in items if (first is None or s.day >= first) and (last is None or s.day <= last)]


class CourtHolidays:
    """Court holidays from the `holidays` package ("US-IL"), an explicit list, or none.

    `known` may carry the package's answers for the years in `span`, computed earlier, so that
    the package (slow to import) is loaded only for a date outside them.
    """

    def __init__(self, setting: str | list[date] | bool, known: Mapping[date, str] | None = None,
                 span: tuple[int, int] | None = None) -> None:
        self._fixed: dict[date, str] = {}
        self._code: str | None = None
        self._lib: Any = None
        self._known = dict(known or {})
        self._span = span if known is not None else None
        self.label = "none"
        if isinstance(setting, str):
            self._code = setting
            self.label = setting
        elif isinstance(setting, list):
            self._fixed = {d: "Court holiday" for d in setting}
            self.label = "the configured list"

    def _library(self) -> Any:
        if self._lib is None:
            import holidays as holidays_lib

            country, _, subdiv = (self._code or "").partition("-")
            try:
                self._lib = holidays_lib.country_holidays(country, subdiv=subdiv or None)
            except NotImplementedError:
                raise ValueError(self._unknown_code_message(holidays_lib)) from None
        return self._lib

    def table(self, first_year: int, last_year: int) -> dict[date, str]:
        """Every holiday in the years given, names joined where two fall on one day."""
        if self._code is None:
            return {d: n for d, n in self._fixed.items() if first_year <= d.year <= last_year}
        import holidays as holidays_lib

        country, _, subdiv = self._code.partition("-")
        try:
            lib = holidays_lib.country_holidays(country, subdiv=subdiv or None,
                                                years=range(first_year, last_year + 1))
        except NotImplementedError:
            raise ValueError(self._unknown_code_message(holidays_lib)) from None
        return {d: str(n) for d, n in lib.items()}

    def _unknown_code_message(self, holidays_lib: Any) -> str:
        country, _, subdiv = (self._code or "").partition("-")
        try:
            known = holidays_lib.country_holidays(country).subdivisions
        except NotImplementedError:
            return (f"{self._code!r}: {country!r} is not a country the holidays package knows; use an "
                    "ISO code such as \"US-IL\"")
        return (f"{self._code!r}: {subdiv!r} is not a subdivision of {country} (for example "
                f"{', '.join(sorted(known)[:6])})")

    def __call__(self, day: date) -> str | None:
        if self._code is None:
            return self._fixed.get(day)
        if self._span is not None and self._span[0] <= day.year <= self._span[1]:
            return self._known.get(day)
        name = self._library().get(day)
        return str(name) if name else None

    def is_business_day(self, day: date) -> bool:
        return day.weekday() < 5 and self(day) is None
