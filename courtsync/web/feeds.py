"""`/calendars/{worker|collaborative|court}/ID.ics?key=...`: the published calendars, for subscription.

The key (config.links) is the whole of the access check: a court clerk's calendar app signs in to nothing. A wrong
key, a missing one and an id that names nothing all get the same 404, so a link never tells whether an id exists.
The calendar is the one `courtsync dates --format ics` writes, published the same way (SEQUENCE, CANCELLED for a
session that left it, the store keeping what it last said), with a strong ETag of its bytes and Last-Modified
of its latest DTSTAMP: a client that has it gets 304 and no body.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time as clock
from collections import OrderedDict
from datetime import date, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from courtsync.app import dates as dates_case
from courtsync.config import links
from courtsync.context import Context, ContextCache
from courtsync.errors import CourtsyncError, NotFoundError

log = logging.getLogger("courtsync.web")
CACHE_CONTROL = "private, max-age=300"   # calendar apps poll; the link is secret, so no shared cache keeps it
NOT_FOUND = b"No such calendar.\n"
# What each calendar was last served as, in this process: (signature of the configuration it was made from,
# the day, ETag, Last-Modified, when it stops being trusted). A poll whose If-None-Match is that ETag, with the
# configuration and the day unchanged, is answered 304 without making the calendar again: its sessions, SEQUENCEs
# and stamps follow from those alone (what the store recorded of it changes only when they do). A store restored
# from an older backup is the one case they do not cover, hence the limit.
TRUSTED_SECONDS = 6 * 3600
KEPT = 20_000
_served: OrderedDict[tuple[str, str], tuple[str | None, date, str, dict[str, str], float]] = OrderedDict()
_served_lock = threading.Lock()   # requests run on several threads: one reorders while another evicts


def calendar(request: Request, contexts: ContextCache) -> Response:
    kind, name = request.path_params["kind"], request.path_params["name"]
    key = request.query_params.get("key", "")
    if kind not in links.KINDS or not name.endswith(".ics") or len(name) <= 4:
        return _not_found()
    ident = name[:-4]
    today = date.today()
    try:
        with contexts.open(today) as ctx:   # (the store is opened only if the calendar must be made)
            if not links.key_opens(ctx.config, kind, ident, key):
                log.warning("404 /calendars/%s: %s", kind, "no such calendar or a wrong key")   # no id, no key
                return _not_found()
            signature = contexts.signature(ctx)
            if signature is not None:   # the memberships too: an enrollment committed meanwhile changes them
                signature += "|" + _enrollments(ctx)
            known = _served.get((kind, ident))
            if known is not None and known[0] == signature and signature is not None and known[1] == today \
                    and known[4] > clock.time() and _unchanged(request, known[2], None):
                with _served_lock:
                    if (kind, ident) in _served:
                        _served.move_to_end((kind, ident))
                return Response(status_code=304, headers=known[3])
            ics = dates_case.dates_ics(ctx, **{f"{kind}_id": ident, **_others(kind)}, first=today, last=None,
                                       as_of=None, clock=clock.time())
    except NotFoundError:
        return _not_found()
    except CourtsyncError as exc:   # (a store that cannot be reached among them: its address is not for a clerk)
        log.error("calendar: %s", type(exc).__name__)
        return Response("The calendar cannot be made now; try again later.\n", status_code=503,
                        media_type="text/plain; charset=utf-8")
    etag = f'"{hashlib.sha256(ics.data).hexdigest()[:32]}"'
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
    if ics.stamp is not None:
        headers["Last-Modified"] = format_datetime(ics.stamp.replace(microsecond=0), usegmt=True)
    with _served_lock:
        _served[(kind, ident)] = (signature, today, etag, headers, clock.time() + TRUSTED_SECONDS)
        _served.move_to_end((kind, ident))
        while len(_served) > KEPT:
            _served.popitem(last=False)
    if _unchanged(request, etag, ics.stamp):
        return Response(status_code=304, headers=headers)
    return Response(ics.data, media_type="text/calendar; charset=utf-8", headers=headers)


_stamps: dict[str, tuple[str, float]] = {}   # store -> (its enrollments' stamp, until when it is trusted)


def _enrollments(ctx: Context) -> str:
    """The store's enrollment stamp, read at most once a second per process (a poll costs no query then)."""
    where = ctx.config.store_location
    kept = _stamps.get(where)
    now = clock.monotonic()
    if kept is None or kept[1] < now:
        kept = _stamps[where] = (ctx.store.enrollments.stamp(), now + 1.0)
    return kept[0]


def _others(kind: str) -> dict[str, Any]:
    return {f"{k}_id": None for k in links.KINDS if k != kind}


def _unchanged(request: Request, etag: str, stamp: datetime | None) -> bool:
    """If-None-Match decides when given (any of its tags, weak ones too: RFC 9110 13.1.2); else If-Modified-Since."""
    match = request.headers.get("if-none-match")
    if match is not None:
        tags = {t.strip().removeprefix("W/") for t in match.split(",")}
        return etag in tags or "*" in tags
    since = request.headers.get("if-modified-since")
    if since and stamp is not None:
        try:
            return stamp.replace(microsecond=0) <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
    return False


def _not_found() -> Response:
    return Response(NOT_FOUND, status_code=404, media_type="text/plain; charset=utf-8")
