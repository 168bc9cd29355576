"""What a court is told: its protected dates and the staff who appear before it, and what changed since
the last letter. Only dates, times, collaboratives, staff names and (optionally) case numbers: never
hearing text, never children's names."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, Literal

ChangeKind = Literal["added", "cancelled", "moved", "time", "staff-joined", "staff-left"]


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
class LetterDate:
    uid: str
    day: date
    start: datetime
    end: datetime
    collaborative: str
    staff: tuple[tuple[str, str, tuple[str, ...]], ...]    # (worker id, name, case numbers)
    holiday: str | None = None                              # the court holiday the session falls on

    def record(self) -> dict[str, Any]:
        out = {"uid": self.uid, "day": self.day.isoformat(), "start": self.start.strftime("%H:%M"),
               "end": self.end.strftime("%H:%M"), "collaborative": self.collaborative,
               "staff": {wid: name for wid, name, _ in self.staff}}
        if self.holiday:   # only when set, so records of letters written before holidays were kept still compare
            out["holiday"] = self.holiday
        return out


@dataclass(frozen=True)
class Letterhead:
    """The agency's name, unit, address, phone and logo at the head of every letter ([agency])."""

    name: str
    unit: str | None = None
    address: tuple[str, ...] = ()
    phone: str | None = None
    logo: str | None = None     # a data: URI, so the HTML letter carries its logo with it


@dataclass(frozen=True)
class Change:
    kind: ChangeKind
    text: str


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
    changes: list[Change] = field(default_factory=list)
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


def _label(d: Mapping[str, Any]) -> str:
    return f"{long_date(date.fromisoformat(d['day']))} ({d['collaborative']})"


def _sentence(kind: ChangeKind, text: str) -> Change:
    """A change ends in one full stop, also after "p.m." (never "p.m..")."""
    return Change(kind, text if text.endswith(".") else text + ".")


def changes(previous: Sequence[Mapping[str, Any]], current: Sequence[LetterDate], first: date,
            last: date) -> list[Change]:
    """Differences from what the court was last told, within this letter's period, session by session."""
    before = {d["uid"]: d for d in previous if first.isoformat() <= d["day"] <= last.isoformat()}
    now = {d.uid: d.record() for d in current}
    out: list[Change] = []
    for uid, d in sorted(now.items(), key=lambda kv: kv[1]["day"]):
        old = before.get(uid)
        if old is None:
            out.append(_sentence("added", f"Added: {_label(d)}, {hours(d['start'], d['end'])}"))
            continue
        if old["day"] != d["day"]:
            out.append(_sentence("moved", f"Moved: {_label(old)} is now {long_date(date.fromisoformat(d['day']))}, "
                                       f"{hours(d['start'], d['end'])}"))
        elif (old["start"], old["end"]) != (d["start"], d["end"]):
            out.append(_sentence("time", f"New time: {_label(d)} is now {hours(d['start'], d['end'])}"))
        joined = sorted(set(d["staff"]) - set(old["staff"]))
        left = sorted(set(old["staff"]) - set(d["staff"]))
        if joined:
            out.append(Change("staff-joined", f"{_label(d)}: now also protects "
                                              f"{', '.join(d['staff'][w] for w in joined)}."))
        if left:
            out.append(Change("staff-left", f"{_label(d)}: no longer concerns "
                                            f"{', '.join(old['staff'][w] for w in left)}."))
    for uid, old in sorted(before.items(), key=lambda kv: kv[1]["day"]):
        if uid not in now:
            out.append(Change("cancelled", f"Cancelled or no longer concerning staff before your court: "
                                           f"{_label(old)}. You may schedule hearings on it again."))
    return out


def lateness(letter_dates: Sequence[date], today: date, lead_days: int) -> str | None:
    """A letter should reach the court `lead_days` before the first date it lists."""
    if not letter_dates:
        return None
    first = min(letter_dates)
    days = (first - today).days
    if days < lead_days:
        return f"late: the first date it lists, {first}, is {days} day(s) away (send-by is {lead_days} days before)"
    return None
