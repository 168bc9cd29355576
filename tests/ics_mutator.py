"""A seeded mutator over the fixture calendars, and the checks one mutated file must pass (issue 11).

Each case is one fixture with one mutation (a truncation, a dropped, duplicated or swapped line, a huge
value, a bad date, random bytes, a hostile rule), and the set of the fixture's lines it touched. The
reader must answer every case without an exception other than SourceError, within a time limit and a
memory bound, and read every event whose lines and UID the mutation did not touch as it did before.
tests/test_fuzz_ics.py runs a few hundred cases; benchmarks/fuzz_ics.py as many as asked.
"""

from __future__ import annotations

import random
import re
import resource
import signal
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from courtsync.calendars.base import Reading, Window
from courtsync.calendars.ics import read_ics
from courtsync.errors import SourceError
from courtsync.store.sqlite import Store
from courtsync.sync.engine import SyncReport
from tests.calendar_helpers import CALENDARS, CASE, CHICAGO, synced

_DATE_LINE = re.compile(rb"^(DTSTART|DTEND|EXDATE|RDATE|RECURRENCE-ID|DUE)[;:]", re.I)
BAD_DATES = [b"00010101T090000", b"99991231T235959", b"20270231T090000", b"20271332T090000", b"20270616T250000",
             b"2027-06-16", b"", b"1", b"18991231", b"22010101T000000Z", b"20270616T090000ZZ", b"99991231"]
HOSTILE_RULES = [b"RRULE:FREQ=SECONDLY", b"RRULE:FREQ=MINUTELY;INTERVAL=0", b"RRULE:FREQ=DAILY;INTERVAL=0",
                 b"RRULE:FREQ=HOURLY;COUNT=999999999", b"RRULE:FREQ=WEEKLY;COUNT=-1", b"RRULE:FREQ=YEARLY;BYSETPOS=999",
                 b"RRULE:FREQ=SECONDLY;UNTIL=99991231T235959Z", b"RRULE:FREQ=DAILY;BYMONTHDAY=99",
                 b"RRULE:FREQ=DAILY;COUNT=5;UNTIL=20270101", b"RRULE:FREQ=MONTHLY;INTERVAL=99999999999999999999"]
HUGE = [b"9" * 400, b"X" * 200_000, b";" * 5000, b";a" * 3000, b'"' * 3001, b"\\" * 10_001, b"," * 5000,
        b"=" * 3000 + b":" + b";" * 3000]
KINDS = ("truncate", "drop", "duplicate", "swap", "huge", "bad_date", "random_bytes", "hostile_rule", "drop_end",
         "huge_number", "copy_event", "several")
_DIGITS = re.compile(rb"\d+")


@dataclass
class Case:
    fixture: str
    seed: int
    kind: str
    data: bytes
    touched: set[int] = field(default_factory=set)   # indices of the fixture's lines the mutation touched
    text: bytes = b""                                 # the touched lines, before and after

    def label(self) -> str:
        return f"{self.fixture} seed={self.seed} {self.kind} lines={sorted(self.touched)[:6]}"


@dataclass
class Event:
    uid: str
    first: int
    last: int


def fixtures() -> list[Path]:
    return sorted(CALENDARS.rglob("*.ics"))


def events_of(lines: list[bytes]) -> tuple[list[Event], set[int]]:
    """The top-level VEVENTs (their UID and line span) and the lines outside every VEVENT."""
    found: list[Event] = []
    outside: set[int] = set()
    depth, first, uid = 0, -1, ""
    for n, raw in enumerate(lines):
        line = raw.strip().upper()
        if line == b"BEGIN:VEVENT" and depth == 0:
            depth, first, uid = 1, n, ""
            continue
        if depth == 0:
            outside.add(n)
            continue
        if line.startswith(b"BEGIN:"):
            depth += 1
        elif line.startswith(b"END:"):
            depth -= 1
            if depth == 0:
                found.append(Event(uid, first, n))
        elif depth == 1 and line.startswith(b"UID") and b":" in raw and not uid:
            uid = raw.split(b":", 1)[1].strip().decode("utf-8", "replace")
    return found, outside


def mutate(fixture: Path, seed: int) -> Case:
    """One mutation of one fixture, chosen by `seed` alone ("several": three in one event)."""
    rng = random.Random(seed)
    data = fixture.read_bytes()
    name = str(fixture.relative_to(CALENDARS))
    kind = rng.choice(KINDS)
    if not data.strip():
        return Case(name, seed, "none", data)
    lines = data.splitlines(keepends=True)
    if kind == "truncate":
        cut = rng.randrange(len(data))
        return Case(name, seed, kind, data[:cut], set(range(data[:cut].count(b"\n"), len(lines))), b"")
    events, _ = events_of(lines)
    out, touched = list(lines), set()
    if kind != "several" or not events:
        out, touched = _mutate(lines, kind if events else "drop", rng, None)
    else:
        event = rng.choice(events)
        for _ in range(3):   # each step replaces whole entries of `out`, so line indices stay those of `lines`
            out, more = _mutate(out, rng.choice(("drop", "swap", "huge", "bad_date", "random_bytes",
                                                 "hostile_rule", "drop_end", "huge_number")), rng, event)
            touched |= more
    for k in touched:
        if out[k] and not out[k].endswith((b"\n", b"\r")):
            out[k] += b"\r\n"   # a swap with a dropped line: never run on into the next line
    for k in sorted(touched):
        # A line that now starts with a blank is folded onto the last line before it, as is the line after a
        # dropped one: that line is touched too.
        follows = out[k] if out[k] else (out[k + 1] if k + 1 < len(out) else b"")
        before = next((j for j in range(k - 1, -1, -1) if out[j]), None)
        if before is not None and follows[:1] in (b" ", b"\t"):
            touched.add(before)
    text = b"".join(lines[k] + out[k] for k in sorted(touched))
    return Case(name, seed, kind, b"".join(out), touched, text)


def _mutate(lines: list[bytes], kind: str, rng: random.Random, event: Event | None) -> tuple[list[bytes], set[int]]:
    """`lines` with one mutation of `kind` (in `event` when given), and the indices it touched."""
    events, _ = events_of(lines)
    inside = [n for e in events for n in range(e.first, e.last + 1)] or list(range(len(lines)))
    if event is not None:
        inside = list(range(event.first, event.last + 1))
    # Mostly lines inside events (where one bad event must stay one problem), sometimes any line.
    anywhere = event is None and rng.random() >= 0.85
    pick = (lambda: rng.randrange(len(lines))) if anywhere else (lambda: rng.choice(inside))
    out = list(lines)
    touched: set[int] = set()
    if kind == "drop_end":
        ends = [n for n in inside if lines[n].strip().upper().startswith((b"END:", b"BEGIN:"))] or inside
        n = rng.choice(ends)
        out[n] = b""
        touched = {n}
    elif kind == "drop":
        n = pick()
        out[n] = b""
        touched = {n}
    elif kind == "huge_number":
        numbered = [k for k in inside if _DIGITS.search(_split(lines[k])[1])] or inside
        n = rng.choice(numbered)
        head, rest = _split(lines[n])
        found = list(_DIGITS.finditer(rest))
        if found:
            m = rng.choice(found)
            rest = rest[:m.start()] + rng.choice((b"9" * 30, b"99999999", b"0", b"-1", b"2" * 400)) + rest[m.end():]
        out[n] = head + rest
        touched = {n}
    elif kind == "copy_event" and events:
        # A whole event again after itself: the same UID twice (a duplicate, or with another SEQUENCE).
        e = rng.choice(events)
        copy = b"".join(lines[e.first:e.last + 1])
        if rng.random() < 0.5:
            copy = re.sub(rb"(?m)^SEQUENCE:\d+", b"SEQUENCE:7", copy) if b"SEQUENCE:" in copy else \
                copy.replace(b"BEGIN:VEVENT", b"BEGIN:VEVENT\r\nSEQUENCE:3", 1)
        out[e.last] = lines[e.last] + copy
        touched = set(range(e.first, e.last + 1))
    elif kind == "duplicate":
        n = pick()
        out[n] = lines[n] * rng.choice((2, 2, 3, 50))
        touched = {n}
    elif kind == "swap":
        n = pick()
        m = min(max(n + rng.randint(-5, 5), 0), len(lines) - 1)
        a, b = _split(lines[n]), _split(lines[m])
        out[n], out[m] = a[0] + b[1], b[0] + a[1]
        touched = {n, m}
    elif kind == "huge":
        n = pick()
        head, _ = _split(lines[n])
        out[n] = head + rng.choice(HUGE) + _ending(lines[n])
        touched = {n}
    elif kind == "bad_date":
        dated = [k for k in inside if _DATE_LINE.match(lines[k]) or b"UNTIL=" in lines[k]] or inside
        n = rng.choice(dated)
        bad = rng.choice(BAD_DATES)
        if b"UNTIL=" in lines[n]:
            out[n] = re.sub(rb"UNTIL=[^;\r\n]*", b"UNTIL=" + bad, lines[n])
        else:
            head, _ = _split(lines[n])
            out[n] = head + bad + _ending(lines[n])
        touched = {n}
    elif kind == "random_bytes":
        n = pick()
        at = rng.randrange(len(lines[n].rstrip(b"\r\n")) + 1)   # before the line end: only this line changes
        noise = bytes(rng.randrange(256) for _ in range(rng.randint(1, 24)))
        out[n] = lines[n][:at] + noise + lines[n][at:]
        touched = {n}
    elif kind == "hostile_rule":
        n = pick()
        out[n] = rng.choice(HOSTILE_RULES) + _ending(lines[n])
        touched = {n}
    return out, touched


def _ending(line: bytes) -> bytes:
    return line[len(line.rstrip(b"\r\n")):] or b"\r\n"


def _split(line: bytes) -> tuple[bytes, bytes]:
    """(name and parameters with the ':', the rest of the line)."""
    at = line.find(b":")
    return (line[:at + 1], line[at + 1:]) if at != -1 else (b"", line)


class Hang(BaseException):
    """Not an Exception: the reader's own `except Exception` (a library error is one event's problem) must
    not turn a hang into a problem."""


def _alarm(signum: int, frame: Any) -> None:
    raise Hang


# Five months around the fixtures' dates (a spring DST change among them): a short window keeps the cap on a
# dense series (two a day of the window) small, so that thousands of cases run in seconds.
WINDOW = Window(datetime(2027, 3, 1, tzinfo=CHICAGO), datetime(2027, 8, 1, tzinfo=CHICAGO), CHICAGO)


def read(data: bytes, name: str) -> Reading:
    kind = "personal" if name.startswith("personal") else "court"
    return read_ics(data, source="src", name=Path(name).name, kind=kind, window=WINDOW, case_pattern=CASE)


def sync(store: Store, folder: Path, name: str, data: bytes) -> SyncReport:
    """`data` synced into `store` as `courtsync sync` does (source `src`, this module's window)."""
    return synced(store, folder, name, data, window=WINDOW, case_pattern=CASE)


def reading(snap: Reading) -> dict[str, set[tuple[Any, ...]]]:
    """UID -> what was read of it (line numbers left out: they move when lines are added or dropped)."""
    out: dict[str, set[tuple[Any, ...]]] = {}
    for group in snap.groups.values():
        for i in group.items or []:
            out.setdefault(i.uid, set()).add((i.instance, i.start, i.end, i.all_day, i.busy, i.summary, i.status))
    return out


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


Baseline = dict[str, "dict[str, set[tuple[Any, ...]]] | None"]


def check(case: Case, baseline: Baseline, seconds: float) -> str | None:
    """None if the reader handled `case`; else what went wrong."""
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        snap = read(case.data, case.fixture)
    except SourceError:
        snap = None
    except Hang:
        return f"no answer within {seconds} s"
    except Exception as exc:  # the very thing this test looks for
        return f"{type(exc).__name__}: {exc}"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    groups = snap.groups.values() if snap else ()
    inner = [p for g in groups for p in (g.problems or []) if "internal error" in p.reason]
    if inner:
        return f"{inner[0].location}: {inner[0].reason}"   # an exception of ours, caught and reported
    lines = (CALENDARS / case.fixture).read_bytes().splitlines(keepends=True)
    events, outside = events_of(lines)
    before = baseline[case.fixture]
    if case.touched & outside or before is None:
        return None   # the calendar's own lines (header, time zones, its end), or a fixture refused as it is
    if snap is None:
        return "the whole file was refused for a change inside one event"
    kept = untouched(events, case)
    got = reading(snap)
    lost = sorted(uid for uid in kept if before.get(uid, set()) != got.get(uid, set()))
    return f"events not touched read differently: {lost[:5]}" if lost else None


def untouched(events: list[Event], case: Case) -> set[str]:
    """UIDs whose every event is untouched and that no touched line mentions."""
    hit: set[str] = set()
    every: set[str] = set()
    for e in events:
        every.add(e.uid)
        if not e.uid or any(e.first <= n <= e.last for n in case.touched):
            hit.add(e.uid)
    return {uid for uid in every - hit if uid and uid.encode() not in case.text}


def baselines() -> Baseline:
    """Each fixture's reading as it is (None for those refused as a whole)."""
    out: Baseline = {}
    for path in fixtures():
        name = str(path.relative_to(CALENDARS))
        try:
            out[name] = reading(read(path.read_bytes(), name))
        except SourceError:
            out[name] = None
    return out


def cases(count: int, seed: int) -> Iterator[Case]:
    paths = fixtures()
    for k in range(count):
        case_seed = seed * 1_000_003 + k
        yield mutate(paths[k % len(paths)], case_seed)
