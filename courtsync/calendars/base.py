"""The calendar-source interface, what a read returns, and the lazy registry of source types."""

from __future__ import annotations

import importlib
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from courtsync.errors import ConfigError, DeadlineError
from courtsync.models import BusyItem, Problem, SourceKind


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


def redact(url: str) -> str:
    """A URL safe for messages and logs: no user:password, no query string (tokens live there)."""
    m = re.match(r"^([a-z][a-z0-9+.-]*://)(?:[^@/]*@)?([^?#]*)(\?[^#]*)?", url.strip(), re.I)
    if not m:
        return url
    return m.group(1) + m.group(2) + ("?…" if m.group(3) else "")


def time_left(deadline: float | None, label: str) -> float | None:
    """Seconds until `deadline` (a time.monotonic() value; None: no deadline); DeadlineError once it has
    passed, so a read that a command no longer waits for stops at its next step."""
    if deadline is None:
        return None
    left = deadline - time.monotonic()
    if left < 0.05:   # (a timeout that the deadline cut short can fire a hair early)
        raise deadline_passed(label)
    return left


def deadline_passed(label: str) -> DeadlineError:
    return DeadlineError(f"{label} was not read within the time this command waits (deadline); abandoned.",
                         hint="The last good copy answers; `courtsync sync` reads it with a longer limit.")
