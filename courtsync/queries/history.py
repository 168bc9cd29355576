"""The conflict history: every scan (and every sync, which scans everyone after it) records each conflict it
found with when it was first and last seen, and resolves those it no longer finds, with why. What `attendance`
excuses by and the CQI report measures."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import date

from courtsync.context import Context
from courtsync.errors import ConfigError
from courtsync.models import Conflict
from courtsync.queries.findings import ScanResult
from courtsync.store.attendance import Seen
from courtsync.store.dialect import DB_ERRORS

Now = Callable[[], float]
_UNWRITABLE: tuple[type[Exception], ...] = (ConfigError, *DB_ERRORS)


def history_key(c: Conflict, session_uid: str) -> str:
    event = c.event_uid or f"@{c.event_start.timestamp():.0f}"
    return f"{c.worker_id}|{session_uid}|{c.source}|{event}"


def record(ctx: Context, result: ScanResult, now: Now, worker_ids: Collection[str] = ()) -> str | None:
    """Keep what this scan found in the history; None, or a note when the store could not be written (the
    scan's answer stands either way). Only what the scan saw is resolved: a conflict of a calendar it did not
    read, of a session outside its dates, or of a worker it did not look at stays as it was."""
    uids = {(s.collaborative_id, s.start): (s.uid, s.day) for c in result.found
            for s in ctx.sessions[c.conflict.collaborative_id] if s.start == c.conflict.session_start}
    rows = []
    for f in result.found:
        c = f.conflict
        uid, day = uids.get((c.collaborative_id, c.session_start), (c.session_start.isoformat(), c.session_start))
        rows.append((history_key(c, uid), c.worker_id, c.collaborative_id, _iso(day), c.session_start.timestamp(),
                     c.session_end.timestamp(), c.source, c.court_id, c.case_number, c.kind,
                     c.event_start.timestamp()))
    read = {s.id for s in result.view.sources if s.status == "ok"}
    first, last = result.first.isoformat(), result.last.isoformat()
    named = set(worker_ids)

    def covers(s: Seen) -> bool:
        return s.source in read and first <= s.session_day <= last and (not named or s.worker in named)
    try:
        ctx.store.attendance.observe(rows, covers, lambda gone: reasons(ctx, gone), now())
    except _UNWRITABLE as exc:
        return f"the conflict history was not updated: {getattr(exc, 'message', exc)}"
    return None


def _iso(day: object) -> str:
    return day.isoformat() if isinstance(day, date) else str(day)


def reasons(ctx: Context, gone: list[Seen]) -> dict[str, str]:
    """Why each conflict is no longer found: its session moved or was cancelled, the worker left that
    collaborative, the hearing moved (its event is still there, at another time) or was cancelled."""
    out: dict[str, str] = {}
    events: dict[tuple[str, str], set[str]] = {}
    for s in gone:
        sessions = ctx.sessions.get(s.collaborative) if s.collaborative in ctx.collaboratives else None
        if not sessions or not any(x.active and x.day.isoformat() == s.session_day
                                   and x.start.timestamp() == s.session_start for x in sessions):
            out[s.key] = "session-moved"
            continue
        worker = ctx.roster.workers.get(s.worker)
        if worker is None or s.collaborative not in worker.collaboratives:
            out[s.key] = "left-collaborative"
            continue
        if (s.source, s.worker) not in events:
            items = ctx.store.items(ctx.config.tz, [s.source], worker=s.worker)
            events[(s.source, s.worker)] = {i.uid for i in items if i.uid}
        uid = s.key.rsplit("|", 1)[-1]
        out[s.key] = "hearing-moved" if uid in events[(s.source, s.worker)] else "hearing-cancelled"
    return out
