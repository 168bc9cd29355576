"""What a sync may do beyond reading and storing: how long reads may take, how long commands leave a failing
source alone, and which reads are held because they suddenly lost most of a source's upcoming items."""

from __future__ import annotations

import time as clock
from dataclasses import dataclass
from datetime import timedelta

from courtsync.calendars.base import Group, Snapshot, Source, Window
from courtsync.store import Store

SYNC_READ_SECONDS = 60.0   # an explicit `sync`: each read may take max(deadline, this), never forever
BACKOFF_FIRST = 60.0       # seconds a command leaves a source alone after its first failed attempt; doubling
HOLD_FROM = 5              # upcoming busy items a source must have had before a drop can hold its read


@dataclass(frozen=True)
class Limit:
    """How long reads may take: one deadline shared by every read a command starts (a person is waiting:
    `shared`), or `seconds` for each read on its own (an explicit sync)."""

    seconds: float
    shared: bool = False
    _until: float | None = None   # time.monotonic() when shared

    @classmethod
    def command(cls, deadline: timedelta) -> Limit:
        seconds = deadline.total_seconds()
        return cls(seconds, True, clock.monotonic() + seconds)

    @classmethod
    def per_read(cls, deadline: timedelta) -> Limit:
        return cls(max(deadline.total_seconds(), SYNC_READ_SECONDS))

    def until(self) -> float:
        """The time.monotonic() by which a read starting now must be done."""
        return self._until if self._until is not None else clock.monotonic() + self.seconds


@dataclass(frozen=True)
class Policy:
    """What a sync may do beyond reading and storing. The defaults: no time limit, no backoff, nothing held."""

    limit: Limit | None = None
    max_age: timedelta = timedelta(0)        # caps the backoff of a failing source
    max_drop: float = 1.0                    # share of upcoming items a read may lose before it is held
    upcoming_from: float | None = None       # epoch seconds of the start of today; None: no drop check
    accept: frozenset[str] = frozenset()     # sources whose new read is taken whatever it dropped

    def backoff(self, failures: int) -> float:
        """Seconds commands leave a source alone after `failures` setbacks in a row: 1, 2, 4 ... minutes, up to
        max_age (an explicit sync retries at once)."""
        return float(min(BACKOFF_FIRST * 2 ** min(failures - 1, 30), max(self.max_age.total_seconds(), BACKOFF_FIRST)))


def sudden_drop(store: Store, source: Source, snap: Snapshot, window: Window, policy: Policy) -> str | None:
    """Why this read must be held, or None: it loses more than max_drop of the busy items the stored copy has
    from today to the end of the window (a feed served empty, or with 3 of its 600 hearings)."""
    if policy.upcoming_from is None or policy.max_drop >= 1.0:
        return None
    lo, hi = policy.upcoming_from, window.end.timestamp()
    stored = store.upcoming(source.id, lo, hi)
    before = sum(stored.values())
    if before < HOLD_FROM:
        return None

    def kept(key: str) -> bool:   # a stored group this read leaves as it is
        if snap.partial:
            return key not in snap.groups and key not in snap.removed
        group = snap.groups.get(key)
        return group is not None and group.items is None

    def counted(group: Group) -> int:
        return sum(1 for i in group.items or () if i.busy and lo <= i.start.timestamp() < hi)

    after = sum(n for key, n in stored.items() if kept(key)) + sum(counted(g) for g in snap.groups.values())
    if before - after <= policy.max_drop * before:
        return None
    return (f"served {after} of {before} upcoming items; held the last good copy; run "
            f"`courtsync sync --accept {source.id}` to take it")
