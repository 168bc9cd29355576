"""`scan`: every worker's (or the named workers') conflicts over a range of dates."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date

from courtsync.context import Context
from courtsync.errors import UsageError
from courtsync.queries import history
from courtsync.queries.attendance import moment
from courtsync.queries.findings import Now, ScanResult, scan_conflicts

__all__ = ["ScanResult", "scan"]   # a scan answers with the ScanResult the conflict finder returns


def scan(ctx: Context, today: date, now: Now, offline: bool, first: date | None = None, last: date | None = None,
         worker_ids: Iterable[str] = ()) -> ScanResult:
    """The conflicts of every (or each named) worker whose session falls in [first, last] (default: today and
    the six months after)."""
    if first and last and last < first:
        raise UsageError(f"--to {last} is before --from {first}.")
    result = scan_conflicts(ctx, today, now, offline, first, last, worker_ids)
    # Every scan keeps the conflict history, stamped as of the day it answers for (--as-of: the end of that day).
    note = history.record(ctx, result, lambda: moment(ctx, today, now).timestamp(), list(worker_ids))
    if note:
        return replace(result, notes=(*result.notes, note))
    return result
