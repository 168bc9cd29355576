"""What a court is told, in words: its protected dates and the staff who appear before it as people write
them, and the sentence for each change since the last letter (what changed is decided in core.letters). Only
dates, times, collaboratives, staff names and (optionally) case numbers: never hearing text, never children's
names."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time
from typing import Any

from courtsync.core.letters import Change, ChangeKind, Lateness, LetterDate, Listing


def long_date(day: date, weekday: bool = True) -> str:
    """"Wednesday, June 16, 2027" as people write it: no zero padding. Built by hand because strftime's %-d
    (no padding) is a glibc extension that Windows and musl lack, and %B/%A follow the process locale."""
    text = f"{_MONTHS[day.month - 1]} {day.day}, {day.year}"
    return f"{_WEEKDAYS[day.weekday()]}, {text}" if weekday else text


def clock(t: time) -> str:
    """"9:00 a.m.", "1:30 p.m.", "12:00 noon": the 12-hour clock of American letters."""
    if (t.hour, t.minute) == (12, 0):
        return "12:00 noon"
    if (t.hour, t.minute) == (0, 0):
        return "12:00 midnight"
    return f"{(t.hour - 1) % 12 + 1}:{t.minute:02d} {'a.m.' if t.hour < 12 else 'p.m.'}"


def hours(start: str, end: str) -> str:
    """"09:00", "16:00" (as records keep them) -> "9:00 a.m. to 4:00 p.m."."""
    return f"{clock(time.fromisoformat(start))} to {clock(time.fromisoformat(end))}"


def holiday_note(holiday: str | None) -> str:
    """A session on a court holiday is kept and said to be on one (product.md: the agency decides)."""
    return f"a court holiday ({holiday}); the session is kept" if holiday else ""


_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class Letterhead:
    """The agency's name, unit, address, phone and logo at the head of every letter ([agency])."""

    name: str
    unit: str | None = None
    address: tuple[str, ...] = ()
    phone: str | None = None
    logo: str | None = None     # a data: URI, so the HTML letter carries its logo with it


@dataclass(frozen=True)
class StatedChange:
    """A change as the letter states it: the change (its kind, its dates) and its sentence."""

    change: Change
    text: str

    @property
    def kind(self) -> ChangeKind:
        return self.change.kind


@dataclass(frozen=True)
class Letter:
    court_id: str
    court_name: str
    addressee: str
    address: tuple[str, ...]
    email: str | None
    liaison: Mapping[str, str]
    first: date
    last: date
    today: date
    dates: list[LetterDate]
    changes: list[StatedChange] = field(default_factory=list)
    amended: bool = False
    late: str | None = None
    case_numbers: bool = False
    agency: Letterhead | None = None
    closing: str = "Respectfully,"

    @property
    def dated(self) -> str:
        return long_date(self.today, weekday=False)

    @property
    def period(self) -> str:
        return f"{long_date(self.first, weekday=False)} to {long_date(self.last, weekday=False)}"

    def records(self) -> list[dict[str, Any]]:
        return [d.record() for d in self.dates]

    def by_collaborative(self) -> list[dict[str, Any]]:
        """The dates grouped by collaborative and time: each group's dates once, its staff once. A court
        reads 'these people are protected on these days', and the letter stays a few pages long."""
        groups: dict[tuple[str, str, str], dict[str, Any]] = {}
        for d in self.dates:
            key = (d.collaborative, d.start.strftime("%H:%M"), d.end.strftime("%H:%M"))
            g = groups.setdefault(key, {"collaborative": key[0], "start": key[1], "end": key[2],
                                        "hours": hours(key[1], key[2]), "days": [], "dates": [], "staff": {}})
            g["days"].append(d.day)
            g["dates"].append({"day": d.day, "text": long_date(d.day), "note": holiday_note(d.holiday)})
            for wid, name, cases in d.staff:
                g["staff"].setdefault(wid, (name, set()))[1].update(cases)
        out = []
        for g in groups.values():
            staff = sorted(g["staff"].values(), key=lambda s: s[0])
            out.append({**g, "days": sorted(g["days"]), "dates": sorted(g["dates"], key=lambda x: x["day"]),
                        "staff": [(name, sorted(cases)) for name, cases in staff]})
        return sorted(out, key=lambda g: (g["days"][0], g["collaborative"]))


def _label(listed: Listing) -> str:
    return f"{long_date(listed.day)} ({listed.collaborative})"


def _sentence(text: str) -> str:
    """A change ends in one full stop, also after "p.m." (never "p.m..")."""
    return text if text.endswith(".") else text + "."


def stated(change: Change) -> StatedChange:
    """The sentence an amended letter says of one change."""
    now, before = change.now, change.before
    if change.kind == "cancelled":
        assert before is not None
        return StatedChange(change, f"Cancelled or no longer concerning staff before your court: {_label(before)}. "
                                    "You may schedule hearings on it again.")
    assert now is not None
    when = hours(now.start, now.end)
    if change.kind == "added":
        text = _sentence(f"Added: {_label(now)}, {when}")
    elif change.kind == "moved":
        assert before is not None
        text = _sentence(f"Moved: {_label(before)} is now {long_date(now.day)}, {when}")
    elif change.kind == "time":
        text = _sentence(f"New time: {_label(now)} is now {when}")
    elif change.kind == "staff-joined":
        text = f"{_label(now)}: now also protects {', '.join(change.staff)}."
    else:
        text = f"{_label(now)}: no longer concerns {', '.join(change.staff)}."
    return StatedChange(change, text)


def late_text(late: Lateness | None, amended: bool) -> str | None:
    """The warning for a letter that reaches the court too late, naming the date it is late for."""
    if late is None:
        return None
    what = "the first date it changes" if amended else "the first date it lists"
    return (f"late: {what}, {late.first}, is {late.days} day(s) away (send-by is {late.lead_days} days "
            "before)")
