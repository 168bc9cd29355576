"""Frozen values that flow between the layers: staff, collaboratives, sessions, conflicts."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cached_property
from typing import Literal, NamedTuple

CollaborativeKind = Literal["regional", "training-center", "affinity-group"]
SessionStatus = Literal["scheduled", "cancelled"]
SessionOrigin = Literal["rule", "dates", "added", "moved"]
ConflictKind = Literal["overlap", "buffer"]


@dataclass(frozen=True, slots=True)
class Move:
    """One session moved from one date to another."""

    from_date: date
    to_date: date


@dataclass(frozen=True, slots=True)
class Rule:
    """The ordinal-weekday rule: `first` fixes weekday and ordinal; repeats every `every` months."""

    first: date
    every: int = 1
    until: date | None = None
    count: int | None = None


@dataclass(frozen=True, slots=True)
class Collaborative:
    """A Learning Collaborative (regional, training center or affinity group) and its schedule."""

    id: str
    name: str
    kind: CollaborativeKind
    start: time
    end: time
    region: str | None = None
    location: str | None = None
    rule: Rule | None = None
    dates: tuple[date, ...] = ()
    cancelled: tuple[date, ...] = ()
    added: tuple[date, ...] = ()
    moved: tuple[Move, ...] = ()
    buffer: timedelta | None = None   # its own travel buffer (0 for a virtual session), before a court's
    capacity: int | None = None       # seats (enrollment and make-ups); None: no limit
    ceu_per_hour: float | None = None  # CEUs per hour attended; None: its sessions earn none


@dataclass(frozen=True, slots=True)
class Court:
    """A court whose calendar courtsync reads and to which liaisons write."""

    id: str
    name: str
    address: tuple[str, ...] = ()
    addressee: str = "Presiding Judge"
    email: str | None = None
    feeds: tuple[str, ...] = ()
    case_pattern: str | None = None
    buffer: timedelta | None = None


@dataclass(frozen=True, slots=True)
class Session:
    """One protected session of one collaborative, in the agency's zone.

    `uid` is stable across runs and across a move (it names the rule date), so calendars
    that imported it update it instead of adding a copy.
    """

    collaborative_id: str
    uid: str
    day: date
    start: datetime
    end: datetime
    status: SessionStatus = "scheduled"
    origin: SessionOrigin = "rule"
    moved_from: date | None = None
    holiday: str | None = None

    @property
    def active(self) -> bool:
        return self.status == "scheduled"


class Worker(NamedTuple):
    """One row of workers.csv: caseworker, supervisor or administrator (a tuple: cheap by the 10,000)."""

    id: str
    name: str
    email: str
    role: str
    office: str
    supervisor_id: str | None
    collaboratives: tuple[str, ...]
    calendar: str | None = None
    line: int = 0


class CaseAssignment(NamedTuple):
    """One row of caseload.csv: a case, the worker who carries it, the court that hears it."""

    case_number: str
    worker_id: str
    court_id: str
    line: int = 0


class Enrollment(NamedTuple):
    """A worker's committed cohort (`courtsync enroll --commit`): it replaces their workers.csv collaboratives of
    the same kind."""

    worker_id: str
    collaborative_id: str | None   # None: registered for `kind` and not placed (that tier's listing is given up)
    kind: str
    rank: int | None          # which of their choices it was when committed (None: unplaced, or no longer a choice)
    committed_at: float       # when committed to this collaborative
    revision: int             # 1, raised each time the collaborative changes
    previous: str | None = None    # the collaborative before the last change
    confirmed: str | None = None   # what the last confirmation queued to their supervisor said


@dataclass(frozen=True)
class Roster:
    """Everyone in workers.csv, and caseload.csv if given (built on first use when `load_caseload`)."""

    workers: Mapping[str, Worker]
    load_caseload: Callable[[], tuple[CaseAssignment, ...]] = tuple

    @cached_property
    def caseload(self) -> tuple[CaseAssignment, ...]:
        return self.load_caseload()

    @cached_property
    def by_email(self) -> Mapping[str, Worker]:
        return {w.email.lower(): w for w in self.workers.values()}

    def with_calendar(self) -> list[Worker]:
        """Workers with a calendar of their own, without building the others (a roster may hold 10,000)."""
        quick = getattr(self.workers, "with_calendar", None)   # roster.py's cached form knows them
        return quick() if quick is not None else [w for w in self.workers.values() if w.calendar]

    def workers_at_court(self, court_id: str) -> list[Worker]:
        ids = {c.worker_id for c in self.caseload if c.court_id == court_id}
        return [w for w in self.workers.values() if w.id in ids]


@dataclass(frozen=True, slots=True)
class Problem:
    """Something courtsync could not read: which source, where in it, and why."""

    source: str
    location: str
    reason: str


@dataclass(frozen=True, slots=True)
class Conflict:
    """A busy item (or a requested hearing slot) that collides with a protected session."""

    worker_id: str
    worker_name: str
    supervisor_id: str | None
    collaborative_id: str
    session_start: datetime
    session_end: datetime
    source: str
    event_uid: str | None
    event_start: datetime
    event_end: datetime | None
    all_day: bool
    case_number: str | None
    court_id: str | None
    kind: ConflictKind


@dataclass(frozen=True, slots=True)
class Reason:
    """One line of explanation for a verdict; `kind` is machine-readable."""

    kind: str
    message: str


@dataclass(frozen=True, slots=True)
class MakeUp:
    """A session of another collaborative (same tier, same month) a worker may attend instead."""

    for_collaborative: str
    for_day: date
    session: Session


@dataclass(frozen=True)
class CheckResult:
    """The answer to `courtsync check --date`: free or not, why, and what else would do."""

    worker: Worker
    day: date
    start: datetime
    end: datetime
    whole_day: bool
    verdict: Literal["free", "conflict", "unknown"]
    reasons: tuple[Reason, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    suggestions: tuple[date, ...] = ()
    makeups: tuple[MakeUp, ...] = ()
    problems: tuple[Problem, ...] = field(default_factory=tuple)


SourceKind = Literal["court", "personal", "exchange", "graph"]
MAIL_SYSTEMS: tuple[SourceKind, ...] = ("exchange", "graph")   # the sources that read everyone's mailboxes


@dataclass(frozen=True, slots=True)
class SourceId:
    """Who a source is: a court's feed (`cook-cpd`, `cook-cpd#2`), a worker's own calendar (`calendar:w01`),
    or a mail system (`exchange`, `graph`). `str()` is the id shown and stored; `parse` reads one back."""

    kind: SourceKind
    court: str = ""      # a court feed: the court's id
    feed: int = 1        # a court feed: its number among the court's feeds (1: the first)
    worker: str = ""     # a personal calendar: the worker's id

    @classmethod
    def court_feed(cls, court: str, feed: int = 1) -> SourceId:
        return cls("court", court=court, feed=feed)

    @classmethod
    def calendar(cls, worker: str) -> SourceId:
        return cls("personal", worker=worker)

    @classmethod
    def parse(cls, text: str) -> SourceId:
        """A stored or typed id back to its parts (anything not a calendar or mail system is a court feed)."""
        for system in MAIL_SYSTEMS:
            if text == system:
                return cls(system)
        if text.startswith("calendar:"):
            return cls.calendar(text[len("calendar:"):])
        court, _, number = text.partition("#")
        return cls.court_feed(court, int(number) if number.isdigit() else 1)

    @property
    def mail_system(self) -> bool:
        """Exchange or Microsoft Graph: the mailboxes of everyone without a calendar of their own."""
        return self.kind in MAIL_SYSTEMS

    def __str__(self) -> str:
        if self.kind == "court":
            return self.court if self.feed == 1 else f"{self.court}#{self.feed}"
        if self.kind == "personal":
            return f"calendar:{self.worker}"
        return self.kind


def court_feed_ids(court: str, feeds: int) -> list[str]:
    """The source ids of a court's `feeds` feeds, as shown and stored."""
    return [str(SourceId.court_feed(court, n)) for n in range(1, feeds + 1)]


SourceState = Literal["ok", "stale", "suspect", "error"]


class BusyItem(NamedTuple):
    """One calendar item (one occurrence of a series) as courtsync understood it.

    `end` is None for an instant (a docket entry with no end published). All-day items start and
    end at local midnight in the agency's zone. `flags` name each special reading applied, so a
    user can see why an item counts or does not; `line` is where its VEVENT starts in the file.
    A tuple, because tens of thousands cross process boundaries during a sync.
    """

    source: str
    uid: str
    instance: str
    start: datetime
    end: datetime | None
    all_day: bool
    status: str
    busy: bool
    summary: str
    location: str
    case_numbers: tuple[str, ...] = ()
    attendees: tuple[str, ...] = ()
    line: int = 0
    flags: tuple[str, ...] = ()
    worker_ids: tuple[str, ...] = ()
    private: bool = False


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """A calendar source and how its last read went."""

    id: str
    kind: SourceKind
    status: SourceState
    synced_at: datetime | None
    events: int
    error: str | None = None
    label: str = ""


@dataclass(frozen=True, slots=True)
class PublishedEvent:
    """One VEVENT of a published calendar (a worker's, a collaborative's, a court's), as it was last published.

    `digest` covers only what a person sees change (start, end, status, summary, location), so republishing
    the same sessions keeps `sequence` and `stamp` (DTSTAMP, UTC). `gone_since` is when the session left the
    calendar: from then on it is published as STATUS:CANCELLED, for a while, so importers lose it too.
    """

    uid: str
    start: datetime
    end: datetime
    cancelled: bool
    summary: str
    location: str
    description: str
    sequence: int = 0
    stamp: datetime | None = None
    digest: str = ""
    gone_since: datetime | None = None


@dataclass(frozen=True)
class OutboxRow:
    """One queued email as the store holds it (pending, claimed, sending, sent, failed, unknown or resent)."""

    id: int
    key: str                 # what it is, e.g. digest:s01:2027-W03 (a --resend adds #resend-N)
    recipient: str
    message_id: str
    subject: str
    message: bytes
    status: str
    attempts: int
    error: str | None
    created: float
    sent_at: float | None
    meta: Mapping[str, object]
    claimed_by: str | None = None    # the run sending it, while status is 'claimed' or 'sending'
    lease_until: float | None = None

    @property
    def base_key(self) -> str:
        return self.key.split("#", 1)[0]


@dataclass(frozen=True)
class NoticeRecord:
    """One letter a court was told (sent by email or printed for mail), as the notice log holds it."""

    id: int
    court: str
    told_at: float
    how: str                 # email | print
    first: str
    last: str
    dates: list[dict[str, object]]
    amended: bool
    letter_date: str | None = None   # None for letters recorded before courtsync kept their text
    text: str | None = None
    html: str | None = None
