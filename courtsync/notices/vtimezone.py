"""A zone's VTIMEZONE in the rule-based form Outlook writes (STANDARD/DAYLIGHT with yearly RRULEs).

icalendar's own VTIMEZONE lists each transition of the years asked for; Mozilla's ical.js (Thunderbird,
Nextcloud) reads that form wrongly and shows every daylight-saving session of the first year an hour late.
One STANDARD and one DAYLIGHT block with `RRULE:FREQ=YEARLY;BYMONTH=..;BYDAY=..`, in force from the year
before the first session, is what every client reads alike.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard

WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@dataclass(frozen=True)
class Transition:
    """One change of UTC offset: its local onset (in the offset before it) and the offsets either side."""

    onset: datetime          # naive local time, as VTIMEZONE's DTSTART wants it (RFC 5545 3.6.5)
    before: timedelta
    after: timedelta
    name: str
    daylight: bool

    def rule(self) -> tuple[int, str, datetime]:
        """(month, BYDAY, time of day) that repeats: the last such weekday when it is the last, else the nth."""
        day = self.onset.day
        last = day + 7 > calendar.monthrange(self.onset.year, self.onset.month)[1]
        n = -1 if last else (day - 1) // 7 + 1
        return self.onset.month, f"{n}{WEEKDAYS[self.onset.weekday()]}", self.onset.replace(year=2000, month=1, day=1)


def transitions(tz: ZoneInfo, first: date, last: date) -> list[Transition]:
    """Every offset change from `first` to `last`, found day by day, then to the second."""
    out: list[Transition] = []
    t = datetime.combine(first, datetime.min.time(), tzinfo=UTC)
    end = datetime.combine(last, datetime.min.time(), tzinfo=UTC)
    step = timedelta(days=1)
    while t < end:
        a, b = t.astimezone(tz).utcoffset(), (t + step).astimezone(tz).utcoffset()
        if a != b:
            lo, hi = t, t + step   # the change lies in (lo, hi]
            while hi - lo > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                if mid.astimezone(tz).utcoffset() == a:
                    lo = mid
                else:
                    hi = mid
            hi = hi.replace(microsecond=0)
            local = hi.astimezone(tz)
            assert a is not None and b is not None
            out.append(Transition(onset=(hi + a).replace(tzinfo=None), before=a, after=b,
                                  # DAYLIGHT is the later clock, as clients expect, also where the law
                                  # calls winter the exception (Europe/Dublin's negative DST)
                                  name=local.tzname() or "", daylight=b > a))
        t += step
    return out


def vtimezone(tz: ZoneInfo, first_year: int, last_year: int) -> Timezone:
    """The zone's rules in force over the years given (and the year either side), in as few blocks as they allow."""
    start = date(first_year - 1, 1, 1)
    found = transitions(tz, start, date(last_year + 1, 12, 31))
    component = Timezone()
    component.add("tzid", tz.key)
    blocks: list[tuple[list[Transition], bool]] = []   # (transitions, is the last group of its kind)
    for daylight in (False, True):
        groups: list[list[Transition]] = []
        for t in (t for t in found if t.daylight == daylight):
            prev = groups[-1][-1] if groups else None
            if prev is not None and prev.onset.year + 1 == t.onset.year and \
                    (prev.rule(), prev.before, prev.after, prev.name) == (t.rule(), t.before, t.after, t.name):
                groups[-1].append(t)
            else:
                groups.append([t])
        blocks.extend((g, g is groups[-1]) for g in groups)
    if not any(len(g) > 1 for g, _ in blocks):
        # No yearly rule (no daylight saving, or a zone changing its law): say what holds from the start.
        then = datetime.combine(start, datetime.min.time(), tzinfo=tz)
        offset = then.utcoffset() or timedelta()
        blocks.insert(0, ([Transition(then.replace(tzinfo=None), offset, offset, then.tzname() or tz.key,
                                      False)], False))
    for group, last in blocks:
        head = group[0]
        block = TimezoneDaylight() if head.daylight else TimezoneStandard()
        block.add("dtstart", head.onset)
        if len(group) > 1:
            month, byday, _ = head.rule()
            rule: dict[str, object] = {"freq": "yearly", "bymonth": month, "byday": byday}
            if not last:   # a later law replaces this rule
                rule["until"] = (group[-1].onset - group[-1].before).replace(tzinfo=UTC)
            block.add("rrule", rule)
        block.add("tzname", head.name)
        block.add("tzoffsetfrom", head.before)
        block.add("tzoffsetto", head.after)
        component.add_component(block)
    return component
