"""The calendar-source interface, what a read returns, and the lazy registry of source types."""

from __future__ import annotations

import importlib
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar
from zoneinfo import ZoneInfo

from courtsync.errors import ConfigError, DeadlineError
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
class Group:
    """The items read from one UID (a master and its overrides), and the problems found in it.

    `items is None` means: unchanged since the reading whose hash is `hash`; keep what is stored.
    """

    hash: str
    items: list[BusyItem] | None = None
    problems: list[Problem] | None = None


@dataclass
class Snapshot:
    """One successful read of a source.

    Whole (`partial` False): `groups` holds every group, unchanged ones with `items` None; a stored
    group not in it is gone. Partial: `groups` holds only what changed, `removed` what is gone,
    `shifted` unchanged groups whose lines moved (by so many lines), `kept` how many groups are as
    stored; nothing else is touched.
    """

    groups: dict[str, Group]
    problems: list[Problem] = field(default_factory=list)    # whole-file notes (encoding, ...)
    validators: dict[str, str] = field(default_factory=dict)  # etag, last_modified
    not_modified: bool = False
    round_trips: int = 0
    partial: bool = False
    removed: list[str] = field(default_factory=list)
    shifted: dict[str, int] = field(default_factory=dict)
    kept: int = 0
    index: bytes | None = None   # what the next read of this source starts from (ics_parts.PartIndex)


class Known(dict[str, str]):
    """What the last good read of a source left: group key -> stored hash, and `index`, the part
    index of an iCalendar feed (ics_parts), so that a new read parses only what changed."""

    def __init__(self, hashes: dict[str, str] | None = None, index: bytes | None = None) -> None:
        super().__init__(hashes or {})
        self.index = index

    def __bool__(self) -> bool:
        return len(self) > 0 or self.index is not None


class Source(Protocol):
    """A calendar courtsync reads: a court feed, a personal calendar, a mailbox."""

    id: str
    kind: SourceKind
    label: str          # safe to show and log: a path, or a URL without credentials or query
    owner: str | None   # the worker whose own calendar this is, if any

    def read(self, window: Window, validators: dict[str, str], known: dict[str, str]) -> Snapshot:
        """Read the source. `validators` came from the last good read (HTTP ETag and so on);
        `known` maps group keys to the hashes already stored (a `Known`, or a plain dict), so
        unchanged groups need no parsing.
        Raises SourceError when the source cannot be read at all."""
        ...


# type name -> "module:Class", imported on first use so that heavy libraries load only when needed.
_REGISTRY = {
    "file": "courtsync.calendars.files:FileSource",
    "http": "courtsync.calendars.http:HttpSource",
    "memory": "courtsync.calendars.memory:MemorySource",
    "ews": "courtsync.calendars.ews:EwsSource",
    "graph": "courtsync.calendars.graph:GraphSource",
}


def source_class(type_name: str) -> Any:
    if type_name not in _REGISTRY:
        raise ConfigError(f"Unknown calendar source type {type_name!r}; known: {', '.join(sorted(_REGISTRY))}.")
    module, _, name = _REGISTRY[type_name].partition(":")
    return getattr(importlib.import_module(module), name)


def source_type(location: str) -> str:
    """A feed string from the config: a URL is 'http', anything else a file."""
    return "http" if re.match(r"^(https?|webcal)://", location.strip(), re.I) else "file"


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
