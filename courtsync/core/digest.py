"""PURE: one supervisor's weekly digest: their team's conflicts, new / still open / resolved since the last one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from courtsync.models import Conflict, Problem, Session, SourceInfo, Worker


def conflict_key(c: Conflict) -> str:
    """What makes a conflict the same one from week to week (times as instants, not text)."""
    end = c.event_end.timestamp() if c.event_end else ""
    return f"{c.worker_id}|{c.collaborative_id}|{c.session_start.timestamp()}|{c.source}|{c.event_uid}|" \
           f"{c.event_start.timestamp()}|{end}"


@dataclass(frozen=True)
class Entry:
    """One conflict as a supervisor reads it: no hearing text beyond case number, court, time and place."""

    status: Literal["new", "open", "resolved"]
    worker_id: str
    worker_name: str
    day: str
    session: str            # "Cook North Training Center 09:00-16:00"
    hearing: str            # "case 2026-JA-001187, Circuit Court of Cook County, 10:00-11:00, Courtroom 3"
    kind: str
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("status", "worker_id", "worker_name", "day", "session", "hearing",
                                              "kind", "note")}


@dataclass(frozen=True)
class TeamDigest:
    supervisor: Worker
    week: str
    first: date
    last: date
    entries: list[Entry]
    sessions: list[tuple[Session, str, list[str]]]          # this week's sessions: (session, name, team members)
    unread: list[SourceInfo] = field(default_factory=list)   # sources failed or stale: no all-clear then
    problems: list[Problem] = field(default_factory=list)    # unreadable items of the team's sources
    keys: dict[str, dict[str, Any]] = field(default_factory=dict)   # what this digest reports, for next week
    # Team members who missed a session without a make-up (status, due_by) and make-ups booked: plain dicts
    missed: list[dict[str, str]] = field(default_factory=list)
    makeups: list[dict[str, str]] = field(default_factory=list)

    @property
    def all_clear(self) -> bool:
        return not self.entries and not self.unread

    def this_week(self) -> list[Entry]:
        """Conflicts with a session this week, the ones to act on first, in date order."""
        return [e for e in self.entries if e.status != "resolved" and _iso(e.day) <= self.last.isoformat()]

    def later(self) -> list[Entry]:
        """Conflicts with sessions in the weeks after this one, in date order."""
        return [e for e in self.entries if e.status != "resolved" and _iso(e.day) > self.last.isoformat()]

    def resolved(self) -> list[Entry]:
        return [e for e in self.entries if e.status == "resolved"]

    def count(self, status: str) -> int:
        return sum(1 for e in self.entries if e.status == status)


def _iso(day: str) -> str:
    """'Tue 2026-12-08' -> '2026-12-08': ISO dates compare (and sort) as text; the weekday in front does not."""
    return day[-10:]


def compare(current: Mapping[str, Entry], previous: Mapping[str, Mapping[str, Any]], first_day: str) -> list[Entry]:
    """Every conflict in date order, the soonest first (new and still open alike), then the ones resolved:
    conflicts the last digest reported that are gone now (sessions already passed are not 'resolved', merely
    over)."""
    out = [e if key not in previous else Entry(**{**e.as_dict(), "status": "open"}) for key, e in current.items()]
    for key, old in previous.items():
        if key not in current and _iso(str(old.get("day", ""))) >= _iso(first_day):
            out.append(Entry(**{**dict(old), "status": "resolved"}))
    out.sort(key=lambda e: (e.status == "resolved", _iso(e.day), e.worker_name, e.session, e.hearing))
    return out
