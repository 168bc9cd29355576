"""Reading fixture calendars the way sync does, for tests."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from itertools import count
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from courtsync.calendars.base import Fetched, Reading, Window
from courtsync.calendars.files import FileSource
from courtsync.calendars.ics import read_ics
from courtsync.models import BusyItem, Problem, Roster, SourceKind
from courtsync.store.base import GroupTag
from courtsync.store.sqlite import Store
from courtsync.sync.engine import SyncReport, sync_sources, window_for

CHICAGO = ZoneInfo("America/Chicago")
CALENDARS = Path(__file__).resolve().parent.parent / "fixtures" / "calendars"
WINDOW = window_for(date(2027, 1, 15), CHICAGO)
CASE = r"\d{4}-J[AD]-\d{3,6}"


def read_bytes(data: bytes, name: str = "test.ics", kind: SourceKind = "court",
               case_pattern: str | None = CASE) -> Reading:
    return read_ics(data, source="src", name=name, kind=kind, window=WINDOW, case_pattern=case_pattern)


def stored_after(fetched: Fetched) -> dict[str, str]:
    """What the store holds of a source's groups after this fetch was synced (what the next read compares)."""
    return {g.key: GroupTag(g.tag, g.first_line).encode() for g in fetched.groups if g.tag is not None}


_MTIMES = count(1_700_000_000_000_000_000, 1_000_000_000)


def synced(store: Store, folder: Path, name: str, data: bytes, window: Window = WINDOW,
           case_pattern: str | None = CASE) -> SyncReport:
    """`data` written to folder/name and synced into `store` as source `src`, the way `courtsync sync` does it
    (each write gets a new modification time, so no edit looks unchanged)."""
    path = folder / Path(name).name
    path.write_bytes(data)
    when = next(_MTIMES)
    os.utime(path, ns=(when, when))
    kind: SourceKind = "personal" if Path(name).name.startswith("personal") or name.startswith("personal") \
        else "court"
    source = FileSource("src", kind, path.name, folder, case_pattern=case_pattern)
    [report] = sync_sources(store, [source], window, Roster(workers={}), "k")
    return report


def store_state(store: Store) -> tuple[list[tuple[Any, ...]], list[tuple[str, str]]]:
    """Every stored item of source `src` (line numbers included) and every problem."""
    items = sorted((i.uid, i.instance, i.start.isoformat(), i.end.isoformat() if i.end else None, i.all_day,
                    i.status, i.busy, i.summary, i.location, i.case_numbers, i.attendees, i.line, i.flags, i.private)
                   for i in store.items(CHICAGO, ["src"]))
    return items, sorted((p.location, p.reason) for p in store.problems(["src"]))


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
