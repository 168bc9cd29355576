"""What Exchange (EWS) and Microsoft Graph sources share: mailboxes, windows, throttling, reading items."""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal, Protocol

from courtsync.calendars.base import Fetched, Group, RawGroup, Window, deadline_passed, time_left
from courtsync.core.busy_rules import busy_rule
from courtsync.errors import SourceError
from courtsync.models import BusyItem, Problem, SourceKind

AUTO_FREE_BUSY_FROM = 50   # mailboxes; fewer are read through calendar views


class MailSettings(Protocol):
    """What every mail-system source is configured with (config.schema's [exchange] and [graph] tables)."""

    @property
    def mode(self) -> Literal["auto", "free-busy", "calendar-view"]: ...
    @property
    def horizon(self) -> timedelta: ...
    @property
    def max_wait(self) -> timedelta: ...


@dataclass(frozen=True)
class MailboxItem:
    """One calendar item (one occurrence) as a mail system reports it, before courtsync's rules."""

    uid: str
    start: datetime
    end: datetime
    status: str          # free | tentative | busy | oof | workingelsewhere | unknown
    all_day: bool = False
    cancelled: bool = False
    private: bool = False
    subject: str = ""
    location: str = ""
    instance: str = ""


@dataclass
class MailboxResult:
    """One mailbox's items, or why it could not be read (then `items` is None)."""

    email: str
    items: list[MailboxItem] | None
    error: str | None = None


def mailbox_location(email: str, worker_id: str) -> str:
    """Where a mailbox's problem is reported: it names whose mailbox, so only that worker's answer is affected."""
    return f"mailbox {email} ({worker_id})"


_MAILBOX_AT = re.compile(r"mailbox \S+ \((?P<wid>[^()\s]+)\)")


def mailbox_worker(location: str) -> str | None:
    """The worker whose mailbox a problem's location names (mailbox_location), or None."""
    m = _MAILBOX_AT.fullmatch(location)
    return m.group("wid") if m else None


def windows(start: datetime, end: datetime, span: timedelta) -> Iterator[tuple[datetime, datetime]]:
    """[start, end) cut into windows no longer than `span` (a protocol's limit per request)."""
    at = start
    while at < end:
        stop = min(at + span, end)
        yield at, stop
        at = stop


def batches(items: list[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


class Throttle:
    """Honour a server's back-off, within one bounded total wait for the whole run."""

    def __init__(self, max_wait: timedelta, sleep: Callable[[float], None] = time.sleep) -> None:
        self.budget = max_wait.total_seconds()
        self.waited = 0.0
        self.sleep = sleep

    def wait(self, seconds: float, what: str, left: float | None = None) -> None:
        """Sleep the server's back-off; `left`: seconds before the command's deadline (None: no deadline),
        DeadlineError at once when the back-off would outlast it (a person does not wait 300 s)."""
        seconds = max(0.0, min(seconds, 300.0))
        if left is not None and seconds >= left:
            raise deadline_passed(what)
        if self.waited + seconds > self.budget:
            raise SourceError(f"{what} kept asking courtsync to slow down; gave up after {self.waited:.0f} s of "
                              f"waiting (max_wait).", hint="Try again later, or raise max_wait in courtsync.toml; "
                                                           "mailboxes not read are reported, never taken as free.")
        self.sleep(seconds)
        self.waited += seconds


class MailboxSource:
    """A mail system read for many mailboxes at once; one group of items per worker."""

    in_process = True   # holds sessions and tokens: read on a thread of the sync's process (sync.readers)
    owner: str | None = None
    mode: Literal["auto", "free-busy", "calendar-view"] = "auto"
    deadline: float | None = None   # time.monotonic() by which a command needs the read (set by the sync)

    def __init__(self, id: str, kind: SourceKind, label: str, mailboxes: dict[str, str], horizon: timedelta,
                 max_wait: timedelta, sleep: Callable[[float], None] = time.sleep) -> None:
        self.id = id
        self.kind = kind
        self.label = label
        self.mailboxes = {email.lower(): wid for email, wid in mailboxes.items()}
        self.horizon = horizon
        self.throttle = Throttle(max_wait, sleep)
        self.round_trips = 0

    def span(self, window: Window) -> tuple[datetime, datetime]:
        """From the start of this month (the sync window starts 3 months earlier) to `horizon` ahead."""
        first = window.start.date()
        index = first.year * 12 + first.month - 1 + 3
        start = datetime.combine(date(index // 12, index % 12 + 1, 1), datetime.min.time(), tzinfo=window.tz)
        return start.astimezone(UTC), (start + self.horizon).astimezone(UTC)

    def fetch_mailboxes(self, emails: list[str], start: datetime, end: datetime) -> Iterator[MailboxResult]:
        """free/busy for many mailboxes at once, or each mailbox's calendar view; `auto`: free/busy from
        AUTO_FREE_BUSY_FROM mailboxes on."""
        mode = self.mode
        if mode == "auto":
            mode = "free-busy" if len(emails) >= AUTO_FREE_BUSY_FROM else "calendar-view"
        if mode == "free-busy":
            yield from self.free_busy(emails, start, end)
        else:
            for email in emails:
                yield self.calendar_view(email, start, end)

    def free_busy(self, emails: list[str], start: datetime, end: datetime) -> Iterator[MailboxResult]:
        raise NotImplementedError

    def calendar_view(self, email: str, start: datetime, end: datetime) -> MailboxResult:
        raise NotImplementedError

    def fetch(self, window: Window, validators: dict[str, str]) -> Fetched:
        """One group per mailbox read, tagged with a digest of what the server returned for it; a mailbox not
        read is a problem that names it, and a group with no tag (its last good copy stays)."""
        self.round_trips = 0
        start, end = self.span(window)
        groups: list[RawGroup] = []
        problems: list[Problem] = []
        for result in self.fetch_mailboxes(sorted(self.mailboxes), start, end):
            self.time_left()   # between mailboxes: past the deadline, the whole read is abandoned
            wid = self.mailboxes.get(result.email.lower())
            if wid is None:
                continue
            if result.items is None:
                problems.append(Problem(self.id, mailbox_location(result.email, wid),
                                        f"not read: {result.error}; this worker's Outlook items are not checked"))
                groups.append(RawGroup(wid, None))   # keep the last good copy of this mailbox
                continue
            items = self._items(wid, result.items, window)
            digest = hashlib.blake2b(repr(sorted(items)).encode(), digest_size=16).hexdigest()
            groups.append(RawGroup(wid, digest, 0, items))
        return Fetched(groups=groups, problems=problems, round_trips=self.round_trips)

    def parse(self, fetched: Fetched, groups: list[RawGroup]) -> dict[str, Group]:
        return {g.key: Group(list(g.data)) for g in groups}

    def time_left(self) -> float | None:
        """Seconds left before the deadline (None: none); DeadlineError once it has passed. Checked before
        each request and between mailboxes, so a command's wait ends within about one request of it."""
        return time_left(self.deadline, self.label)

    def _items(self, wid: str, raw: list[MailboxItem], window: Window) -> list[BusyItem]:
        out = {}
        for item in raw:
            busy, read = busy_rule("mailbox", "CANCELLED" if item.cancelled else "", item.status.upper())
            flags = [f.value for f in read]
            start, end = item.start, item.end
            if item.all_day:
                flags.append("all-day")
                start = datetime.combine(start.date(), datetime.min.time(), tzinfo=window.tz)
                end = datetime.combine(max(end.date(), start.date() + timedelta(days=1)), datetime.min.time(),
                                       tzinfo=window.tz)
            summary, location = item.subject, item.location
            if item.private:
                flags.append("private")
                summary, location = "(private)", ""
            busy_item = BusyItem(source=self.id, uid=item.uid, instance=item.instance,
                                 start=start.astimezone(window.tz), end=end.astimezone(window.tz),
                                 all_day=item.all_day, status="cancelled" if item.cancelled else item.status.lower(),
                                 busy=busy, summary=summary, location=location, flags=tuple(flags),
                                 worker_ids=(wid,), private=item.private)
            # The same item seen in two request windows is one item.
            out[(busy_item.uid, busy_item.instance, busy_item.start.timestamp())] = busy_item
        return list(out.values())
