"""The API's answers: each route's parameters, who may ask it, and the use case and JSON shape the command of the
same name uses. Each returns (body, the exit code the command would have given)."""

from __future__ import annotations

import time as clock
from datetime import date
from typing import Any

from courtsync.app import check as check_case
from courtsync.app import dates as dates_case
from courtsync.app import events as events_case
from courtsync.app import scan as scan_case
from courtsync.context import Context
from courtsync.core.access import Viewer
from courtsync.errors import EXIT_CONFLICTS, EXIT_OK, EXIT_SOURCE, UsageError
from courtsync.presenters import shapes
from courtsync.web.params import Query

CHECK_PARAMS = ("worker", "date", "time", "court", "suggest", "as_of")
SCAN_PARAMS = ("from", "to", "worker", "as_of")
EVENTS_PARAMS = ("source", "worker", "from", "to", "all", "as_of")
DATES_PARAMS = ("worker", "collaborative", "court", "from", "to", "all", "as_of")
OFFLINE = True   # a request never reads a source: the background refresh does (a stale copy is said to be stale)


class Forbidden(UsageError):
    """Signed in, but this answer is someone else's (the web service: 403)."""


def _may_see_worker(viewer: Viewer, worker_id: str) -> None:
    # Checked before the id is looked up: a 403 says nothing of whether such a worker exists.
    if not viewer.may_see_worker(worker_id):
        raise Forbidden("You may see your own answers and those of the staff you supervise, not this worker's.")


def check(ctx: Context, viewer: Viewer, query: Query, today: date) -> tuple[dict[str, Any], int]:
    """`courtsync check`: with a date, the verdict; without, the worker's upcoming conflicts."""
    worker_id = query.text("worker", required=True) or ""
    _may_see_worker(viewer, worker_id)
    day, span, suggest_n = query.day("date"), query.time_range("time"), query.number("suggest", 0, 60)
    court_id = query.text("court")
    if day is None:
        if span is not None or suggest_n is not None:
            raise UsageError("time and suggest go with date.")
        found = check_case.upcoming(ctx, today, clock.time, OFFLINE, worker_id)
        return shapes.scan_json(found), _scan_code(found)
    result, view = check_case.check_date(ctx, today, clock.time, OFFLINE, worker_id, day, span, suggest_n, court_id)
    return shapes.check_json(result, view), {"conflict": EXIT_CONFLICTS, "unknown": EXIT_SOURCE,
                                             "free": EXIT_OK}[result.verdict]


def scan(ctx: Context, viewer: Viewer, query: Query, today: date) -> tuple[dict[str, Any], int]:
    """`courtsync scan`: everyone's conflicts for an admin; a supervisor's team's; a worker's own."""
    workers = query.texts("worker")
    for worker_id in workers:
        _may_see_worker(viewer, worker_id)
    if not workers and not viewer.admin:
        if not viewer.workers:
            raise Forbidden("A scan covers staff: you have no roster row, so there is no one to scan for you.")
        workers = sorted(viewer.workers)
    found = scan_case.scan(ctx, today, clock.time, OFFLINE, query.day("from"), query.day("to"), workers)
    return shapes.scan_json(found), _scan_code(found)


def events(ctx: Context, viewer: Viewer, query: Query, today: date) -> tuple[dict[str, Any], int]:
    """`courtsync events`: a worker's items (their own, a team member's), or a liaison's court's feed."""
    worker_id, source_id = query.text("worker"), query.text("source")
    if worker_id is not None:
        _may_see_worker(viewer, worker_id)
    elif not viewer.admin and not (source_id and viewer.may_see_court(source_id.split("#", 1)[0])):
        raise Forbidden("Name a worker you may see (worker=ID), or, as a liaison, one of your courts (source=ID).")
    first = query.day("from")
    if first is None and not query.flag("all"):
        first = today
    result = events_case.events(ctx, today, clock.time, OFFLINE, source_id, worker_id, first, query.day("to"))
    return shapes.events_json(result), EXIT_SOURCE if result.view.incomplete else EXIT_OK


def dates(ctx: Context, viewer: Viewer, query: Query, today: date) -> tuple[dict[str, Any], int]:
    """`courtsync dates`: a worker's protected sessions (as check), a collaborative's (anyone signed in), the
    sessions of the staff before a court (its liaison)."""
    worker_id, collab_id, court_id = query.text("worker"), query.text("collaborative"), query.text("court")
    if worker_id is not None:
        _may_see_worker(viewer, worker_id)
    elif court_id is not None and not viewer.may_see_court(court_id):
        raise Forbidden("The sessions of the staff before a court are for that court's liaison.")
    elif worker_id is None and collab_id is None and court_id is None and not viewer.admin:
        raise Forbidden("Name a worker, collaborative or court: every session of everyone is for admins.")
    first = query.day("from")
    if first is None and not query.flag("all"):
        first = today
    result = dates_case.protected_dates(ctx, worker_id=worker_id, collaborative_id=collab_id, court_id=court_id,
                                        first=first, last=query.day("to"))
    return shapes.dates_json(result), EXIT_OK


def _scan_code(found: scan_case.ScanResult) -> int:
    return EXIT_SOURCE if found.view.incomplete else (EXIT_CONFLICTS if found.found else EXIT_OK)
