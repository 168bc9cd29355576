"""The calendar-source interface: a source fetches tagged groups and parses the changed ones it is handed."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar
from zoneinfo import ZoneInfo

from courtsync.errors import DeadlineError
from courtsync.models import BusyItem, Problem, SourceKind

T = TypeVar("T")


@dataclass(frozen=True)
class Window:
    """The span recurring items are expanded in, and what a reading depends on besides the bytes."""

    start: datetime
    end: datetime
    tz: ZoneInfo

    def key(self) -> str:
        return f"{self.start.isoformat()}/{self.end.isoformat()}/{self.tz.key}"


@dataclass
class RawGroup:
    """One group of a source as fetched, not yet parsed: for iCalendar the VEVENTs sharing a UID, for a mail
    system one mailbox. `tag` is a digest of what its reading depends on (never of DTSTAMP or of the line it
    starts on), None when the source could not read this group this time (the stored copy stays);
    `first_line` the line it starts on (0: no lines). `data` is the source's own, for its `parse`."""

    key: str
    tag: str | None
    first_line: int = 0
    data: Any = None


@dataclass
class Group:
    """The items read from one group (a UID's master and overrides, a mailbox) and the problems found in it."""

    items: list[BusyItem]
    problems: list[Problem] = field(default_factory=list)


@dataclass
class Fetched:
    """One successful fetch of a source: its groups unparsed, what is wrong with it as a whole, its validators
    (HTTP ETag and Last-Modified, a file's size and time); `not_modified`: the source says nothing changed
    since the fetch that left the validators given (no groups then). `context` is the source's own: what
    its `parse` needs besides each group's data."""

    groups: list[RawGroup] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    validators: dict[str, str] = field(default_factory=dict)
    not_modified: bool = False
    round_trips: int = 0
    context: Any = None


class Source(Protocol):
    """A calendar courtsync reads: a court feed, a personal calendar, a mailbox."""

    id: str
    kind: SourceKind
    label: str          # safe to show and log: a path, or a URL without credentials or query
    owner: str | None   # the worker whose own calendar this is, if any

    def fetch(self, window: Window, validators: dict[str, str]) -> Fetched:
        """Fetch the source and cut it into tagged groups. `validators` came from the last good fetch (empty:
        fetch in full). Raises SourceError when the source cannot be read at all."""
        ...

    def parse(self, fetched: Fetched, groups: list[RawGroup]) -> dict[str, Group]:
        """These groups of `fetched` read into items, by key (sync asks only for the groups whose tag changed)."""
        ...


@dataclass
class Reading:
    """A source fetched and every group it read parsed (what a first sync stores): for tests and tools."""

    fetched: Fetched
    groups: dict[str, Group]

    @property
    def problems(self) -> list[Problem]:
        return self.fetched.problems

    @property
    def validators(self) -> dict[str, str]:
        return self.fetched.validators

    @property
    def not_modified(self) -> bool:
        return self.fetched.not_modified

    @property
    def round_trips(self) -> int:
        return self.fetched.round_trips


def read_whole(source: Source, window: Window, validators: dict[str, str] | None = None) -> Reading:
    """Fetch a source and parse every group it read."""
    fetched = source.fetch(window, validators or {})
    return Reading(fetched, source.parse(fetched, [g for g in fetched.groups if g.tag is not None]))


_SECRET_SEGMENT = re.compile(r"[A-Za-z0-9_-]{16,}|.*(?:private|@|%40).*", re.I)


def redact(url: str) -> str:
    """A URL safe for messages, logs and digests: scheme and host, no user:password, no query string, and
    path segments that look like a secret masked. Private calendar links carry their token in the path
    (Google's `/private-<token>/basic.ics`, Outlook's `/<guid>@<domain>/<token>/calendar.ics`)."""
    m = re.match(r"^([a-z][a-z0-9+.-]*://)(?:[^@/?#]*@)?([^/?#]*)([^?#]*)(\?[^#]*)?", url.strip(), re.I)
    if not m:
        return url
    path = "/".join("…" if _SECRET_SEGMENT.fullmatch(part) else part for part in m.group(3).split("/"))
    return m.group(1) + m.group(2) + path + ("?…" if m.group(4) else "")


def time_left(deadline: float | None, label: str) -> float | None:
    """Seconds until `deadline` (a time.monotonic() value; None: no deadline); DeadlineError once it has
    passed, so a read that a command no longer waits for stops at its next step."""
    if deadline is None:
        return None
    left = deadline - time.monotonic()
    if left < 0.05:   # (a timeout that the deadline cut short can fire a hair early)
        raise deadline_passed(label)
    return left


def within(deadline: float | None, label: str, call: Callable[[], T],
           discard: Callable[[T], None] | None = None) -> T:
    """call(), waited for no longer than `deadline` (a time.monotonic() value; None: as long as it takes).
    A library's timeouts bound each socket read, not their sum (a server can trickle, a library can retry),
    so past the deadline the call is left to its thread (DeadlineError here), which then hands whatever it
    still gets to `discard` (to close a response)."""
    if deadline is None:
        return call()
    lock = threading.Lock()
    outcome: list[T | BaseException] = []

    def run() -> None:
        try:
            got: T | BaseException = call()
        except BaseException as exc:   # handed to the thread that waits
            got = exc
        with lock:
            if not outcome:
                outcome.append(got)
            elif discard is not None and not isinstance(got, BaseException):   # abandoned
                discard(got)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(max(0.0, deadline - time.monotonic()))
    with lock:
        if not outcome:
            outcome.append(deadline_passed(label))
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


def deadline_passed(label: str) -> DeadlineError:
    return DeadlineError(f"{label} was not read within the time this command waits (deadline); abandoned.",
                         hint="The last good copy answers; `courtsync sync` reads it with a longer limit.")
