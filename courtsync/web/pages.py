"""`/`: the check page, server-rendered (templates/page.html.j2, which an agency may override beside
courtsync.toml, as the letters), with no script at all. A worker checks a date (and time); a supervisor also sees
the team's conflicts; a liaison the status of each court's letters.

Every answer is the API's own (web.api.check and web.api.scan: the commands' use cases and JSON shapes), shown
as HTML; every value reaches the template as a variable and is escaped there, feed text included."""

from __future__ import annotations

from datetime import date
from typing import Any

from courtsync.app import notice_log
from courtsync.context import Context
from courtsync.core.access import Viewer
from courtsync.errors import EXIT_SOURCE, CourtsyncError, NotFoundError
from courtsync.notices import render
from courtsync.web import api
from courtsync.web.params import Query

PAGE_PARAMS = ("worker", "date", "time")
TEAM_LIMIT = 200   # conflicts listed on the page (the digest and `courtsync scan` have them all)


def page(ctx: Context, viewer: Viewer, query: Query, today: date) -> tuple[str, int]:
    """The page's HTML and its HTTP status (an error of the check is shown on the page, with its status)."""
    form = {k: query.text(k) or "" for k in PAGE_PARAMS}
    if not form["worker"] and viewer.worker_id and not viewer.admin:
        form["worker"] = viewer.worker_id
    check: dict[str, Any] | None = None
    error: CourtsyncError | None = None
    status = 200
    if form["date"]:
        try:
            body, _ = api.check(ctx, viewer, query, today)
            check = _check_view(body)
        except CourtsyncError as exc:
            error, status = exc, (404 if isinstance(exc, NotFoundError) else 403 if isinstance(exc, api.Forbidden)
                                  else 400)
    team, incomplete = _team(ctx, viewer, today)
    env = render.for_agency(ctx.config.base_dir)
    html = render.render(env, "page.html.j2", agency=ctx.config.agency.name if ctx.config.agency else None,
                         signed_in=_signed_in(ctx, viewer), form=form, workers=_choices(ctx, viewer),
                         check=check, error=error, team=team, team_incomplete=incomplete,
                         courts=_courts(ctx, viewer), timezone=ctx.config.timezone)
    return html, status


def _signed_in(ctx: Context, viewer: Viewer) -> str:
    if viewer.admin and viewer.worker_id is None:
        return "Signed in as an administrator."
    if viewer.worker_id and viewer.worker_id in ctx.roster.workers:
        worker = ctx.roster.workers[viewer.worker_id]
        return f"Signed in as {worker.name} ({worker.id})" + (", an administrator." if viewer.admin else ".")
    return "Signed in as a court liaison."


def _choices(ctx: Context, viewer: Viewer) -> list[tuple[str, str]] | None:
    """Whom the form may check: None for a free id field (an admin), else the viewer's own and reports'."""
    if viewer.admin:
        return None
    workers = ctx.roster.workers
    ids = sorted(viewer.workers, key=lambda w: (w != viewer.worker_id, workers[w].name if w in workers else w))
    return [(w, f"{workers[w].name} ({w})" if w in workers else w) for w in ids]


def _check_view(body: dict[str, Any]) -> dict[str, Any]:
    """The check's JSON shape (its values still dates and datetimes), with the words the page shows."""
    requested = body["requested"]
    start, end = requested["start"], requested["end"]
    makeups = [{"text": f"{m['collaborative_id']} on {m['date']:%A, %B %-d, %Y}, {m['start']:%H:%M}–{m['end']:%H:%M}"}
               for m in body["makeups"]]
    return {**body, "day_text": f"{body['date']:%A, %B %-d, %Y}", "makeups": makeups,
            "time_text": None if requested["whole_day"] else f"{start:%H:%M}–{end:%H:%M}"}


def _team(ctx: Context, viewer: Viewer, today: date) -> tuple[list[dict[str, Any]] | None, bool]:
    """A supervisor's reports' conflicts (None: the viewer supervises no one, or is an admin of everyone)."""
    reports = viewer.workers - {viewer.worker_id} if viewer.worker_id else frozenset()
    if viewer.admin or not reports:
        return None, False
    body, code = api.scan(ctx, viewer, Query([("worker", w) for w in sorted(reports)]), today)
    rows = []
    for c in body["conflicts"][:TEAM_LIMIT]:
        rows.append({"day": f"{c['session_start']:%a %b %-d, %Y}", "worker_id": c["worker_id"],
                     "worker_name": c["worker_name"], "collaborative_id": c["collaborative_id"],
                     "court": c["court_id"] or c["source"], "case_number": c["case_number"],
                     "time": "all day" if c["all_day"] else f"{c['event_start']:%H:%M}"})
    return rows, code == EXIT_SOURCE


def _courts(ctx: Context, viewer: Viewer) -> list[dict[str, str]]:
    """A liaison's courts, each with its last letter's status."""
    courts = [c for c in sorted(viewer.courts) if c in ctx.courts]
    if not courts:
        return []
    last_of: dict[str, notice_log.LogEntry] = {}
    for entry in notice_log.log(ctx):   # (oldest first: the last one of each court stays)
        last_of[entry.court_id] = entry
    out = []
    for court_id in courts:
        court = ctx.courts[court_id]
        last = last_of.get(court_id)
        if last is not None:
            said = (f"{last.kind} letter {last.status} {last.when:%b %-d, %Y}, covering {last.first} to "
                    f"{last.last}")
        else:
            said = "never told: no letter recorded yet (courtsync notices)"
        out.append({"id": court_id, "name": court.name, "status": said})
    return out
