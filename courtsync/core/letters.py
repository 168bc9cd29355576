"""PURE: a court letter's decisions: which sessions it lists, what changed since the court was last told, and
whether it is late. Values in, values out; the sentences a letter says are written in notices.letters."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

ChangeKind = Literal["added", "cancelled", "moved", "time", "staff-joined", "staff-left"]


@dataclass(frozen=True)
class LetterDate:
    """One protected session as a letter lists it, with the staff it protects before this court."""

    uid: str
    day: date
    start: datetime
    end: datetime
    collaborative: str
    staff: tuple[tuple[str, str, tuple[str, ...]], ...]    # (worker id, name, case numbers)
    holiday: str | None = None                              # the court holiday the session falls on

    def record(self) -> dict[str, Any]:
        """What the notice log keeps of it: what the court was told, compared with the next letter."""
        out = {"uid": self.uid, "day": self.day.isoformat(), "start": self.start.strftime("%H:%M"),
               "end": self.end.strftime("%H:%M"), "collaborative": self.collaborative,
               "staff": {wid: name for wid, name, _ in self.staff}}
        if self.holiday:   # only when set, so records of letters written before holidays were kept still compare
            out["holiday"] = self.holiday
        return out


@dataclass(frozen=True)
class Listing:
    """A session as one letter told it: its date, hours ("09:00", "16:00") and collaborative."""

    day: date
    start: str
    end: str
    collaborative: str

    @staticmethod
    def of(record: Mapping[str, Any]) -> Listing:
        return Listing(date.fromisoformat(record["day"]), record["start"], record["end"], record["collaborative"])


@dataclass(frozen=True)
class Change:
    """One difference from what the court was last told, about one session: `before` as the last letter told
    it (None when added), `now` as this letter tells it (None when cancelled); `staff`: the names who joined or
    left it."""

    kind: ChangeKind
    now: Listing | None
    before: Listing | None = None
    staff: tuple[str, ...] = ()

    @property
    def day(self) -> date:
        """The session's date as the court should now know it (a cancelled one: the date it had)."""
        listed = self.now or self.before
        assert listed is not None
        return listed.day

    @property
    def protects(self) -> bool:
        """Whether it asks the court to keep a date free that it was not asked to keep (added, moved to, a new
        time, staff joined): such a change needs the letter's lead time. A date given back (cancelled, staff
        left, the date a session moved from) needs none: the court may use it whenever it learns of it."""
        return self.kind not in ("cancelled", "staff-left")


def changes(previous: Sequence[Mapping[str, Any]], current: Sequence[LetterDate], first: date,
            last: date) -> list[Change]:
    """Differences from what the court was last told (`previous`: the records of the last letter), within this
    letter's period, session by session, in date order; the sessions no longer listed last."""
    before = {d["uid"]: d for d in previous if first.isoformat() <= d["day"] <= last.isoformat()}
    now = {d.uid: d.record() for d in current}
    out: list[Change] = []
    for uid, d in sorted(now.items(), key=lambda kv: kv[1]["day"]):
        old = before.get(uid)
        listing = Listing.of(d)
        if old is None:
            out.append(Change("added", listing))
            continue
        was = Listing.of(old)
        if old["day"] != d["day"]:
            out.append(Change("moved", listing, was))
        elif (old["start"], old["end"]) != (d["start"], d["end"]):
            out.append(Change("time", listing, was))
        joined = sorted(set(d["staff"]) - set(old["staff"]))
        left = sorted(set(old["staff"]) - set(d["staff"]))
        if joined:
            out.append(Change("staff-joined", listing, was, tuple(d["staff"][w] for w in joined)))
        if left:
            out.append(Change("staff-left", listing, was, tuple(old["staff"][w] for w in left)))
    for uid, old in sorted(before.items(), key=lambda kv: kv[1]["day"]):
        if uid not in now:
            out.append(Change("cancelled", None, Listing.of(old)))
    return out


def dates_to_keep(told: Iterable[Change]) -> list[date]:
    """The dates an amended letter newly asks the court to keep free: what its lateness is measured from."""
    return [c.day for c in told if c.protects]


@dataclass(frozen=True)
class Lateness:
    """A letter that reaches the court less than `lead_days` before `first`, the earliest date it counts for."""

    first: date
    days: int        # from today to `first`
    lead_days: int


def lateness(days: Iterable[date], today: date, lead_days: int) -> Lateness | None:
    """A letter should reach the court `lead_days` before the first of these dates (a first letter: every date
    it lists; an amended one: the dates it newly asks the court to keep, dates_to_keep)."""
    first = min(days, default=None)
    if first is None or (first - today).days >= lead_days:
        return None
    return Lateness(first, (first - today).days, lead_days)
