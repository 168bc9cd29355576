"""The error tree: every mistake a user can fix, with the exit code product.md promises.

    CourtsyncError            the user can fix this (exit 2 unless a subclass says otherwise)
    ├── ConfigError           courtsync.toml is wrong: file, line, key
    │   └── RosterError       workers.csv / caseload.csv is wrong: file, line, column
    ├── UsageError            a command-line value is wrong (unknown worker, bad date)
    ├── SourceError           a calendar source could not be read (exit 3)
    └── DeliveryError         a message was not delivered (exit 3); `kind` says what becomes of it

Anything else that escapes is a bug in courtsync and keeps its traceback.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

EXIT_OK = 0
EXIT_CONFLICTS = 1
EXIT_USAGE = 2
EXIT_SOURCE = 3


def most_severe(codes: Iterable[int]) -> int:
    """The exit code of several outcomes: what the user must fix first. A wrong configuration (2) before an
    unread source (3), before conflicts found (1); 0 only when all are 0."""
    order = (EXIT_USAGE, EXIT_SOURCE, EXIT_CONFLICTS)
    seen = set(codes)
    return next((code for code in order if code in seen), max(seen - {EXIT_OK}, default=EXIT_OK))


@dataclass(frozen=True)
class Located:
    """One thing wrong at one place: `file:line key: message` (any part may be missing)."""

    message: str
    path: Path | None = None
    line: int | None = None
    key: str | None = None

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = str(self.path)
            if self.line is not None:
                where += f":{self.line}"
        if self.key:
            where = f"{where} {self.key}" if where else self.key
        return f"{where}: {self.message}" if where else self.message


@dataclass
class CourtsyncError(Exception):
    """Root of the tree: the user can fix this. `problems` lists each place at fault."""

    message: str
    problems: list[Located] = field(default_factory=list)
    hint: str | None = None
    exit_code: int = EXIT_USAGE

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        lines = [self.message]
        lines.extend(f"  {p}" for p in self.problems)
        if self.hint:
            lines.append(self.hint)
        return "\n".join(lines)


@dataclass
class ConfigError(CourtsyncError):
    """courtsync.toml (or a file it names) is missing or wrong."""


@dataclass
class StoreUnavailable(ConfigError):
    """The store's database server cannot be reached, or went away mid-command (the web service: 503). Nothing
    was answered from it; the next command (request) tries again."""


@dataclass
class RosterError(ConfigError):
    """A row or column of workers.csv or caseload.csv is wrong."""


@dataclass
class UsageError(CourtsyncError):
    """A command-line value is wrong: an unknown id, an impossible date or time."""


@dataclass
class NotFoundError(UsageError):
    """An id that names nothing: no such worker, court, collaborative or source (the web service: 404)."""


@dataclass
class SourceError(CourtsyncError):
    """A calendar source could not be read, so an answer may be incomplete."""

    exit_code: int = EXIT_SOURCE



@dataclass
class DeadlineError(SourceError):
    """A read did not finish within the time a command gives it: abandoned, the last good copy answers."""


DeliveryKind = Literal["config", "transient", "recipient", "unknown"]


@dataclass
class DeliveryError(CourtsyncError):
    """One message was not delivered. `kind` decides what the outbox does with it:

        config     the sender's own setup (login, TLS, relay, sender address, host): stays queued, goes once fixed
        transient  the server or network, for now: stays queued, goes on the next run
        recipient  this recipient is refused for good (550 5.1.1 user unknown): failed, never retried
        unknown    the connection broke after the message was handed over: it may have arrived, so it is never
                   re-sent by itself

    `every_message`: the same would happen to every other message this run (no connection, a refused login), so
    the batch stops there and the rest stay queued untouched.
    """

    kind: DeliveryKind = "transient"
    every_message: bool = False
    exit_code: int = EXIT_SOURCE
