"""Bounds on expanding one series: near the window only, a cap per series, DST-gap instances skipped.

recurring-ical-events asks dateutil for every instance from DTSTART on, each time it is queried,
and keeps them in a list: a `FREQ=SECONDLY` rule from last January, or one with `INTERVAL=0`, never
finishes. Before the library runs, a series has its DTSTART moved forward by whole periods to just
before the window (the same instants, fewer of them; a COUNT series only when each period holds one
instance, its COUNT lowered to match), and a lazy walk over the rule finds where the series' last
instance under the cap (series_cap) falls, so the library is asked only up to there. A series that
cannot move is walked from DTSTART, at most STEP_CAP instances. Rules no period can match (dateutil
walks those to the year 9999) are refused before any of this (unusable).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from itertools import islice
from typing import Any

from dateutil.rrule import rrulestr

from courtsync.calendars.ics_events import UTC

PER_DAY = 2             # instances of one series kept in the window: this many per day of the window (on average)
STEP_CAP = 50_000      # rule instances walked in all for one series that cannot be moved near the window
_PERIOD = {"SECONDLY": timedelta(seconds=1), "MINUTELY": timedelta(minutes=1), "HOURLY": timedelta(hours=1),
           "DAILY": timedelta(days=1), "WEEKLY": timedelta(weeks=1)}
_DROP_PARTS = re.compile(r"(?:^|;)(?:UNTIL|COUNT)=[^;]*", re.I)


@dataclass
class Plan:
    """How far the library is asked to expand a series, and why it stops short of the window end."""

    stop: datetime
    capped: str | None = None
    empty: bool = False      # nothing of the series reaches the window: do not ask the library


def nonexistent(value: date | datetime) -> bool:
    """A local time that the clock skips (the spring-forward gap)."""
    if not isinstance(value, datetime) or value.tzinfo is None:
        return False
    back = value.astimezone(UTC).astimezone(value.tzinfo)
    return back.replace(tzinfo=None) != value.replace(tzinfo=None)


def fix_interval(rule: Any) -> str | None:
    """INTERVAL must be a positive integer (RFC 5545 3.3.10); 0 made dateutil loop for ever. Read as 1."""
    interval = rule.get("INTERVAL")
    if not interval:
        return None
    try:
        value = int(interval[0])
    except (TypeError, ValueError):
        value = 0
    if value > 0:
        return None
    rule["INTERVAL"] = [1]
    return f"RRULE INTERVAL={interval[0]} is not a positive number; read as INTERVAL=1 (every period)"


# RFC 5545 3.3.10 ranges; dateutil takes any number, and a rule none of whose periods can match
# (BYMONTHDAY=99, or February 30) walks every period to the year 9999 before it gives up: seconds a rule.
_RANGES = {"BYSECOND": (0, 60, False), "BYMINUTE": (0, 59, False), "BYHOUR": (0, 23, False),
           "BYMONTHDAY": (1, 31, True), "BYYEARDAY": (1, 366, True), "BYWEEKNO": (1, 53, True),
           "BYMONTH": (1, 12, False), "BYSETPOS": (1, 366, True)}
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_FINER = {"DAILY": ("BYHOUR", "BYMINUTE", "BYSECOND"), "HOURLY": ("BYMINUTE", "BYSECOND"),
          "MINUTELY": ("BYSECOND",), "SECONDLY": ()}


def unusable(rule: Any) -> str | None:
    """Why a rule can never be expanded (values out of range, or no period can match), or None."""
    for part, (low, high, signed) in _RANGES.items():
        for value in rule.get(part, []):
            try:
                number = int(value)
            except (TypeError, ValueError):
                return f"{part}={value} is not a number"
            if not (low <= abs(number) <= high if signed else low <= number <= high) or (signed and not number):
                return f"{part}={value} is outside {'±' if signed else ''}{low}..{high}"
    days = [int(d) for d in rule.get("BYMONTHDAY", [])]
    months = [int(m) for m in rule.get("BYMONTH", [])] or list(range(1, 13))
    if days and all(abs(d) > max(_MONTH_DAYS[m - 1] for m in months) for d in days):
        return "BYMONTHDAY and BYMONTH name no day that exists"
    freq = str(rule.get("FREQ", [""])[0]).upper()
    positions = [abs(int(p)) for p in rule.get("BYSETPOS", [])]
    if freq in _FINER and positions:
        size = 1
        for part in _FINER[freq]:
            size *= max(len(rule.get(part, [])), 1)
        if min(positions) > size:
            return f"BYSETPOS={positions[0]} is past the {size} instance(s) each {freq.lower()} period holds"
    return None


def extra_dtstart(rules: list[Any], comp: Any, start: date | datetime) -> bool:
    """Whether DTSTART is not itself an instance of the rule (then it is an extra one, RFC 5545 3.8.5.3)."""
    if len(rules) != 1 or not isinstance(start, datetime) or comp.get("RDATE") is not None:
        return False
    rule = rules[0]
    try:
        naive = start.replace(tzinfo=None)
        text = rule.to_ical().decode()
        text = re.sub(r"UNTIL=[^;]*;?", "", text).rstrip(";")
        first = next(iter(rrulestr(f"RRULE:{text};COUNT=1" if "COUNT" not in text else f"RRULE:{text}",
                                   dtstart=naive)), None)
    except Exception:  # an unusual rule dateutil cannot read: expansion reports it if it matters
        return False
    return first is not None and first != naive


_ZONE_RULE = re.compile(r"^RRULE[^:\r\n]*:(.*)$", re.M | re.I)


def zone_unusable(text: str) -> str | None:
    """Why a VTIMEZONE's transition rules would stall icalendar (it expands them all when it builds the
    zone: an hourly one runs for minutes), or None. Real zones change offset once or twice a year."""
    from icalendar.prop import vRecur  # icalendar loads with the careful reader only

    for m in _ZONE_RULE.finditer(text):
        try:
            rule = vRecur.from_ical(m.group(1).strip())
        except (ValueError, TypeError):
            return "a transition rule cannot be read"
        freq = str(rule.get("FREQ", [""])[0]).upper()
        if freq != "YEARLY":
            return f"a transition rule is FREQ={freq or '(none)'}, not YEARLY"
        try:
            interval = int(rule.get("INTERVAL", [1])[0])
        except (TypeError, ValueError):
            interval = 0
        reason = unusable(rule) or ("its INTERVAL is not a positive number" if interval <= 0 else None)
        if reason:
            return f"a transition rule: {reason}"
    return None


def _naive(value: date | datetime, zone: tzinfo | None) -> datetime:
    if not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day)
    if value.tzinfo is not None and zone is not None:
        value = value.astimezone(zone)
    return value.replace(tzinfo=None)


def _walk(rule: Any, start: datetime) -> Any:
    """Instances of one rule as naive local times from `start`, lazily (UNTIL and COUNT left to the library,
    which reads them properly; COUNT is applied by the caller where it matters)."""
    text = _DROP_PARTS.sub("", rule.to_ical().decode()).strip(";")
    return iter(rrulestr(f"RRULE:{text}", dtstart=start))


def plan(comp: Any, rules: list[Any], window: tuple[datetime, datetime], span: timedelta,
         movable: bool) -> Plan:
    """Prepare the master `comp` of a series (moving its DTSTART forward when that changes no instance in the
    window) and say how far to expand it. `span`: how long an instance lasts; `movable`: False when DTSTART
    is itself an extra instance off the rule, which a move would repeat."""
    ws, we = window
    start = comp.get("DTSTART").dt
    zone = start.tzinfo if isinstance(start, datetime) else None
    naive = _naive(start, zone)
    margin = max(span, timedelta(0)) + timedelta(hours=3)   # local and absolute time differ by at most that
    first = _naive(ws, zone or ws.tzinfo)
    lo, hi = first - margin, _naive(we, zone or we.tzinfo)
    first -= max(span, timedelta(0))   # an instance starting from here on reaches into the window
    cap = series_cap(window)
    if len(rules) == 1 and rules[0].get("COUNT"):
        _skip_gaps_in_count(rules[0], naive, zone)
    if len(rules) == 1 and movable:
        naive, over = _move(comp, rules[0], naive, lo)
        if over:
            return Plan(we, empty=True)
    # Each rule on its own; the series stops where the first of them reaches its cap, so that none of them
    # gives the library more than a cap's worth of instances to list (several RRULEs are merged by it).
    plans = [_walk_rule(rule, naive, zone, (first, hi), window, cap) for rule in rules]
    if any(p.empty for p in plans):
        return next(p for p in plans if p.empty)
    return min(plans, key=lambda p: p.stop, default=Plan(we))


def _walk_rule(rule: Any, naive: datetime, zone: tzinfo | None, bounds: tuple[datetime, datetime],
               window: tuple[datetime, datetime], cap: int) -> Plan:
    """How far one rule may be expanded: to the window end, or to its cap-th instance that reaches into it."""
    (first, hi), (ws, we) = bounds, window
    count = int(rule["COUNT"][0]) if rule.get("COUNT") else STEP_CAP
    until = rule.get("UNTIL")
    end = min(hi, _naive(until[0], zone) + timedelta(seconds=1)) if until else hi
    kept = 0
    for seen, instance in enumerate(islice(_walk(rule, naive), count), 1):
        if instance >= end:
            break
        if instance >= first:
            kept += 1
            if kept >= cap:
                return Plan(max(_aware(instance, zone, we), ws), f"more than {cap} instances in the window; only "
                                                                 f"those up to {instance:%Y-%m-%d %H:%M} are read")
        if seen >= STEP_CAP:
            stop = _aware(instance, zone, we)
            reason = f"more than {STEP_CAP} instances from DTSTART on, "
            if stop <= ws:   # the library would walk them all again: nothing in the window is read
                return Plan(we, reason + "none of them in the window; none read", empty=True)
            return Plan(stop, reason + f"only those up to {instance:%Y-%m-%d %H:%M} are read")
    return Plan(we)


def series_cap(window: tuple[datetime, datetime]) -> int:
    """One instance a day of the window, twice over, fits any real series; dense garbage stops there."""
    return max(PER_DAY * (window[1] - window[0]).days, 100)


def _aware(value: datetime, zone: tzinfo | None, like: datetime) -> datetime:
    return value.replace(tzinfo=zone or like.tzinfo)


_PLAIN_PARTS = {"FREQ", "INTERVAL", "COUNT", "UNTIL", "WKST"}


def _move(comp: Any, rule: Any, naive: datetime, lo: datetime) -> tuple[datetime, bool]:
    """DTSTART (and DTEND) moved forward by whole periods to just before `lo`: the same lattice of local
    times, so every instance from there on is unchanged, and dateutil does not walk the years before. A
    COUNT rule moves only when every period holds one instance (no BY parts), its COUNT lowered to match.
    (new start, whether a COUNT series ended before `lo`)."""
    freq = str(rule.get("FREQ", [""])[0]).upper()
    counted = bool(rule.get("COUNT"))
    if freq not in _PERIOD or naive >= lo or (counted and not set(rule) <= _PLAIN_PARTS):
        return naive, False
    try:
        interval = max(int(rule.get("INTERVAL", [1])[0]), 1)
        count = int(rule["COUNT"][0]) if counted else 0
    except (TypeError, ValueError):
        return naive, False
    period = _PERIOD[freq] * interval
    steps = (lo - naive) // period
    if counted and steps >= count:
        return naive, True
    start = comp.get("DTSTART").dt
    for _ in range(3):   # never onto a time the clock skips: that would be read as a real instance
        if steps <= 0:
            return naive, False
        delta = period * steps
        moved = start + delta
        if not nonexistent(moved):
            break
        steps -= 1
    else:
        return naive, False
    if not isinstance(start, datetime) and delta % timedelta(days=1):
        return naive, False
    comp["DTSTART"].dt = moved
    if comp.get("DTEND") is not None:
        comp["DTEND"].dt = comp["DTEND"].dt + delta
    if counted:
        rule["COUNT"] = [count - steps]
    return naive + delta, False


def _skip_gaps_in_count(rule: Any, naive: datetime, zone: tzinfo | None) -> None:
    """An instance at a local time the clock skips is ignored and uses no COUNT slot (calendar-quirks.md,
    policy): COUNT is raised by the number of such instances among the first COUNT that remain."""
    if zone is None:
        return
    try:
        count = int(rule["COUNT"][0])
    except (TypeError, ValueError):
        return
    if count <= 0 or count > STEP_CAP:
        return
    wanted = total = count
    for _ in range(4):
        instances = list(islice(_walk(rule, naive), total))
        gaps = sum(1 for x in instances if x != naive and nonexistent(x.replace(tzinfo=zone)))
        if total - gaps >= wanted or len(instances) < total:
            break
        total = wanted + gaps
    if total != count:
        rule["COUNT"] = [total]
