"""What the rest of courtsync may ask of a store, whatever holds it (SQLite today, PostgreSQL next): the row
types, and the two halves as Protocols: the disposable calendar cache and the durable records."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from courtsync.errors import ConfigError
from courtsync.models import BusyItem, Enrollment, NoticeRecord, OutboxRow, Problem, PublishedEvent
from courtsync.store.attendance import Attendance

Owners = Callable[[BusyItem], tuple[str, ...]]


@dataclass(frozen=True)
class GroupTag:
    """What the store keeps of a group besides its items: the tag of the read it came from and the line the
    group started on then (items and problems carry absolute lines: a group that moved is renumbered)."""

    tag: str
    line: int = 0

    def encode(self) -> str:
        return self.text(self.tag, self.line)

    @staticmethod
    def text(tag: str, line: int) -> str:
        """The encoded form of a tag and line (what the store keeps), without making a GroupTag."""
        return f"{tag} {line}"

    @classmethod
    def decode(cls, text: str) -> GroupTag:
        tag, _, line = text.rpartition(" ")
        return cls(tag, int(line)) if tag and line.isdigit() else cls(text)   # a store from before lines were kept


@dataclass(frozen=True)
class GroupWrite:
    """A group read anew: its tag and first line, its items and problems."""

    tag: GroupTag
    items: list[BusyItem]
    problems: list[Problem]


@dataclass
class Change:
    """One read of a source as the store takes it: every group it has (`present`: read anew, unchanged, or not
    read this time), those read anew (`written`), and the unchanged ones that now start on another line
    (`moved`, with their new first line). A stored group not present is gone."""

    present: set[str] = field(default_factory=set)
    written: dict[str, GroupWrite] = field(default_factory=dict)
    moved: dict[str, GroupTag] = field(default_factory=dict)

    def kept(self, key: str) -> bool:
        """A stored group this read leaves as it is (perhaps renumbered)."""
        return key in self.present and key not in self.written


@dataclass(frozen=True)
class SourceRow:
    id: str
    kind: str
    label: str
    synced_at: float | None
    attempted_at: float | None
    error: str | None
    validators: dict[str, str]
    window: str
    events: int
    round_trips: int
    owners_key: str | None
    location: str | None = None   # a hash of where it was read from (None: a store from before that was kept)


@dataclass(frozen=True)
class SourceHealth:
    """A source's setbacks since its last stored read (none: no row)."""

    failures: int
    retry_after: float | None
    timed_out: bool
    held: str | None
    held_at: float | None


@dataclass
class NewerStoreError(ConfigError):
    """The store was written by a newer release of courtsync (a schema version this release does not know)."""


@dataclass(frozen=True)
class Upgrade:
    """What `courtsync db upgrade` did: the records' schema version before (None: there was no store) and after."""

    store: str
    cache: str
    before: int | None
    after: int


class CalendarCache(Protocol):
    """Each source's last good copy, its sync state and setbacks, and derived values: all of it can be dropped
    and is rebuilt by the next sync (and the next command), so nothing here is a record."""

    def batch(self) -> AbstractContextManager[None]: ...
    def cached(self, kind: str, key: str) -> bytes | None: ...
    def remember(self, kind: str, key: str, value: bytes) -> None: ...
    def sources(self) -> dict[str, SourceRow]: ...
    def group_tags(self, source: str) -> dict[str, str]: ...
    def stored_groups(self, source: str, keys: Iterable[str]) -> set[str]: ...
    def record_failure(self, source: str, kind: str, label: str, error: str, now: float,
                       location: str | None = None) -> None: ...
    def forget(self, source: str) -> None: ...
    def health(self) -> dict[str, SourceHealth]: ...
    def record_setback(self, source: str, now: float, delay: Callable[[int], float], timed_out: bool = False,
                       held: str | None = None) -> None: ...
    def clear_setbacks(self, source: str) -> None: ...
    def upcoming(self, source: str, start: float, end: float,
                 groups: Collection[str] | None = None) -> dict[str, int]: ...
    def upcoming_count(self, source: str, start: float, end: float) -> int: ...
    def group_keys(self, source: str) -> set[str]: ...
    def record_unchanged(self, source: str, now: float, round_trips: int, location: str | None = None) -> None: ...
    def apply(self, source: str, kind: str, label: str, change: Change, file_problems: list[Problem],
              validators: dict[str, str], window: str, now: float, round_trips: int, owners: Owners,
              owners_key: str, location: str | None = None) -> int: ...
    def reassign_owners(self, source: str, owners: Owners, owners_key: str, tz: ZoneInfo) -> None: ...
    def items(self, tz: ZoneInfo, sources: Iterable[str], start: datetime | None = None,
              end: datetime | None = None, worker: str | None = None,
              busy_only: bool = False) -> list[BusyItem]: ...
    def spans_by_worker(self, sources: Iterable[str], start: datetime,
                        end: datetime) -> dict[str, list[tuple[float, float | None, str, int]]]: ...
    def items_by_id(self, tz: ZoneInfo, ids: Iterable[int]) -> dict[int, BusyItem]: ...
    def problems(self, sources: Iterable[str]) -> list[Problem]: ...


class Ledger(Protocol):
    """The outbox (notices.outbox.Rows and its counts), the digest state and the notice log with its letters."""

    def queue(self, rows: Iterable[tuple[str, str, str, str, bytes, dict[str, Any]]], resend: Collection[str],
              now: float) -> tuple[int, int]: ...
    def supersede(self, prefix: str, keep: Collection[str]) -> int: ...
    def withdraw(self, prefix: str, keep: Collection[str]) -> int: ...
    def unsettled(self, prefix: str) -> list[OutboxRow]: ...
    def rows(self, status: str, keys: Collection[str] | None = None) -> list[OutboxRow]: ...
    def claim(self, row_id: int, claimer: str, lease_until: float) -> OutboxRow | None: ...
    def handing_over(self, row_id: int, claimer: str) -> bool: ...
    def release(self, row_id: int, claimed_by: str | None) -> bool: ...
    def finish(self, row_id: int, claimer: str, status: str, error: str | None, sent_at: float | None,
               then: Callable[[], None] | None = None) -> bool: ...
    def give_up(self, row_id: int, claimed_by: str | None, error: str) -> bool: ...
    def mark_sent(self, row_id: int, when: float, then: Callable[[], None] | None = None) -> bool: ...
    def counts(self, prefix: str = "") -> dict[str, int]: ...
    def remember_digest(self, supervisor: str, week: str, keys: dict[str, Any], when: float) -> None: ...
    def digest_keys(self) -> dict[str, dict[str, Any]]: ...
    def record_notice(self, court: str, when: float, how: str, first: str, last: str, dates: list[dict[str, Any]],
                      amended: bool, letter_date: str, text: str, html: str) -> int: ...
    def notices(self, court: str | None = None) -> list[NoticeRecord]: ...
    def last_told(self, court: str) -> list[dict[str, Any]] | None: ...


class Enrollments(Protocol):
    """Each worker's committed cohort (`courtsync enroll --commit`) and the log of every change."""

    def all(self) -> dict[str, Enrollment]: ...
    def of(self, worker_id: str) -> Enrollment | None: ...
    def commit(self, placed: Iterable[tuple[str, str | None, str, int | None]],
               now: float) -> tuple[int, int, int]: ...
    def confirmed(self, worker_id: str, digest: str) -> None: ...
    def stamp(self) -> str: ...


class Records(Protocol):
    """What courtsync did and must never forget: the ledger, and what each published calendar last said."""

    path: Path | None   # the store's file; None for a database server
    name: str           # the store as messages name it (a file, or a URL without its password)

    @property
    def ledger(self) -> Ledger: ...
    @property
    def enrollments(self) -> Enrollments: ...
    @property
    def attendance(self) -> Attendance: ...
    def published(self, calendar: str) -> dict[str, PublishedEvent]: ...
    def record_published(self, calendar: str, events: Iterable[PublishedEvent]) -> None: ...


class Storage(CalendarCache, Records, Protocol):
    """A whole store as a command holds it: opened on first use, closed when the command ends."""

    def upgrade(self) -> Upgrade: ...
    def exclusive(self, name: str) -> AbstractContextManager[bool]: ...
    def close(self) -> None: ...
    def __enter__(self) -> Storage: ...
    def __exit__(self, *exc: object) -> None: ...

