"""Reading fixture calendars the way sync does, for tests."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from courtsync.calendars.base import Known, Snapshot
from courtsync.calendars.ics import read_ics
from courtsync.models import BusyItem, Problem, SourceKind
from courtsync.sync.engine import window_for

CHICAGO = ZoneInfo("America/Chicago")
CALENDARS = Path(__file__).resolve().parent.parent / "fixtures" / "calendars"
WINDOW = window_for(date(2027, 1, 15), CHICAGO)
CASE = r"\d{4}-J[AD]-\d{3,6}"


def read_bytes(data: bytes, name: str = "test.ics", kind: SourceKind = "court",
               case_pattern: str | None = CASE) -> Snapshot:
    return read_ics(data, source="src", name=name, kind=kind, window=WINDOW, case_pattern=case_pattern, known={})


def known_after(snap: Snapshot) -> Known:
    """What sync hands the next read of a source after this one (what the store keeps)."""
    return Known({k: g.hash for k, g in snap.groups.items()}, index=snap.index)


def read_fixture(relative: str, kind: SourceKind = "court") -> tuple[list[BusyItem], list[Problem]]:
    path = CALENDARS / relative
    snap = read_bytes(path.read_bytes(), path.name, kind)
    items = [i for g in snap.groups.values() for i in (g.items or [])]
    problems = list(snap.problems) + [p for g in snap.groups.values() for p in (g.problems or [])]
    items.sort(key=lambda i: (i.start, i.uid))
    return items, problems


def by_uid(items: list[BusyItem]) -> dict[str, list[BusyItem]]:
    out: dict[str, list[BusyItem]] = {}
    for item in items:
        out.setdefault(item.uid, []).append(item)
    return out


class Hang(BaseException):
    """A read that did not finish within its hang-guard (not an Exception, which the reader would report)."""


@contextmanager
def within(seconds: float) -> Iterator[None]:
    """A generous hang-guard (main thread only): raise Hang if the block runs longer than `seconds`."""
    def alarm(signum: int, frame: object) -> None:
        raise Hang(f"did not finish within {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except Hang as exc:
        raise AssertionError(str(exc)) from None   # a plain test failure once past the reader's handlers
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
