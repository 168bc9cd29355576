"""PURE: the sentences that explain an answer: unread sources, withheld offers, unreadable items, id lists."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta

from courtsync.models import Problem, SourceInfo

PROBLEMS_SHOWN = 3   # unreadable items named in a check's table or a digest; the rest counted
PROBLEMS_HINT = "run `courtsync events` to see them all"


def problems_text(problems: Sequence[Problem], shown: int = PROBLEMS_SHOWN,
                  line: Callable[[Problem], str] = lambda p: f"{p.location}: {p.reason}") -> list[str]:
    """Items of these calendars that could not be read as written (an answer over them may miss an event): a
    count, the first few as `file:line: reason`, and how to see them all."""
    if not problems:
        return []
    more = f"{len(problems) - shown} more; " if len(problems) > shown else ""
    return [f"{len(problems)} item(s) in these calendars could not be read as written (an event may be missing):",
            *(line(p) for p in problems[:shown]), f"{more}{PROBLEMS_HINT}"]


def withheld(what: str, unread: Sequence[SourceInfo]) -> str:
    """Why an offer (other dates, make-up sessions) is not made: it would be judged on unread calendars."""
    ids = [s.id for s in unread]
    return (f"{what} not offered while {id_list(ids)} {'is' if len(ids) == 1 else 'are'} unread: courtsync never "
            f"calls a date free over calendars it did not see.")


def id_list(ids: Sequence[str], most: int = 8) -> str:
    return ", ".join(ids[:most]) + (f" and {len(ids) - most} more" if len(ids) > most else "")


def unread_text(s: SourceInfo) -> str:
    """Why a source's copy cannot back a "free": never read, failed, stale, suspect (any status but ok)."""
    if s.error and s.error.startswith("never read"):   # the error says it already: not "never read: never read"
        return f"{s.id} was {s.error}"
    state = ("was never read" if s.synced_at is None else "failed") if s.status == "error" else f"is {s.status}"
    return f"{s.id} {state}: {s.error}" if s.error else f"{s.id} {state}."


def minutes(delta: timedelta) -> str:
    """A travel buffer as said in a sentence: "45-minute", "1-hour"."""
    count = int(delta.total_seconds() // 60)
    return f"{count}-minute" if count % 60 else f"{count // 60}-hour"
