"""The ASGI application of `courtsync serve` (Starlette): who is asking, the API routes, errors as JSON.

Every answer comes from the same use cases (courtsync.app) and the same JSON shapes (presenters.shapes) as the
commands. A request never reads a calendar source: answers come from the store, and a source the store holds
too old a copy of is `stale` in the answer, as a command with --offline says it (a free date over it is
`unknown`). The configuration, roster and sessions are kept while their files stay as they are
(context.ContextCache); each request opens the store in its own worker thread and closes it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time as clock
from collections.abc import AsyncIterator, Callable
from datetime import date
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from courtsync.config.schema import CONFIG_ENV, load_config
from courtsync.context import Context, ContextCache, share_connections
from courtsync.core.access import EVERYONE, Viewer, viewer_for
from courtsync.errors import EXIT_SOURCE, ConfigError, CourtsyncError, NotFoundError, StoreUnavailable
from courtsync.presenters import formats
from courtsync.web import api, feeds, pages
from courtsync.web.params import MAX_QUERY, Query

log = logging.getLogger("courtsync.web")

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                               "base-uri 'none'; frame-ancestors 'none'",   # no script at all
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class Denied(Exception):
    """401 (not signed in as anyone courtsync trusts) or 403 (signed in, not allowed to see this)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


Handler = Callable[[Context, Viewer, Query, date], tuple[dict[str, Any], int]]


def create_app(config_path: str | None = None) -> Starlette:
    """The application for the configuration at `config_path` (default: $COURTSYNC_CONFIG, as the commands)."""
    path = config_path or os.environ.get(CONFIG_ENV)
    config = load_config(path)   # a broken configuration stops the server at start, with the commands' message
    # Each worker process logs as `serve` does (a worker started by uvicorn --workers has no handler yet).
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    share_connections(config)   # a PostgreSQL store: one connection pool per worker process

    contexts = ContextCache(path)

    def answer(handler: Handler, known: tuple[str, ...]) -> Callable[[Request], Response]:
        def endpoint(request: Request) -> Response:
            return _answer(request, contexts, handler, known)
        return endpoint

    routes = [
        Route("/healthz", lambda request: _json({"status": "ok"}, 200)),
        Route("/readyz", lambda request: _ready(contexts)),
        Route("/api/check", answer(api.check, api.CHECK_PARAMS)),
        Route("/api/scan", answer(api.scan, api.SCAN_PARAMS)),
        Route("/api/events", answer(api.events, api.EVENTS_PARAMS)),
        Route("/api/dates", answer(api.dates, api.DATES_PARAMS)),
        Route("/calendars/{kind}/{name}", lambda request: feeds.calendar(request, contexts)),
        Route("/", lambda request: _page(request, contexts)),
        Route("/static/courtsync.css", lambda request: _stylesheet(contexts)),
    ]
    refresher = Refresher(path, config.server.refresh.total_seconds())

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        refresher.start()
        try:
            yield
        finally:
            refresher.stop()

    return Starlette(routes=routes, middleware=[Middleware(Guard)], lifespan=lifespan)


class Refresher:
    """This worker process's background refresh (app/refresh.py), a thread that wakes every `every` seconds
    (the first turn soon after start, each a little jittered so that workers started together take turns).
    It logs counts only: a source's label may be a private URL."""

    def __init__(self, path: str | None, every: float) -> None:
        import threading

        self.path, self.every = path, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="courtsync-refresh", daemon=True)

    def start(self) -> None:
        if self.every > 0:   # refresh = "0s": another job (`courtsync sync` from cron) keeps the sources fresh
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        import random

        from courtsync.app import refresh

        wait = random.uniform(0.5, 2.0)
        while not self._stop.wait(wait):
            started = clock.monotonic()
            try:
                done = refresh.refresh(self.path, date.today(), clock.time)
                if done.ran and done.reports:
                    failed = sum(r.outcome in ("failed", "abandoned", "skipped", "held") for r in done.reports)
                    log.info("refresh: %d source(s) read again, %d not, in %.1f s", len(done.reports) - failed,
                             failed, clock.monotonic() - started)
            except CourtsyncError as exc:
                log.warning("refresh: not done (%s)", type(exc).__name__)
            except Exception as exc:   # a refresh that breaks must not take the server down with it
                log.error("refresh: %s", type(exc).__name__)
            wait = self.every * random.uniform(0.9, 1.1)


class Guard:
    """Around every response: the security headers; before any route, a query string too long is refused."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                known = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *(
                    (k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()
                    if k.lower().encode() not in known)]
            await send(message)

        if len(scope.get("query_string", b"")) > MAX_QUERY:
            await _json({"error": f"The query string is longer than {MAX_QUERY} bytes."}, 414)(
                scope, receive, with_headers)
            return
        await self.app(scope, receive, with_headers)


def _answer(request: Request, contexts: ContextCache, handler: Handler, known: tuple[str, ...]) -> Response:
    """One API request: who asks, the parameters, the use case, the JSON (or the error as JSON)."""
    started = clock.monotonic()
    try:
        query = Query(list(request.query_params.multi_items()))
        query.check_known(known)
        as_of = query.day("as_of")
        today = as_of or date.today()
        with contexts.open(today) as ctx:
            viewer = _viewer(request, ctx)
            body, code = handler(ctx, viewer, query, today)
        status = 200
    except Denied as exc:
        log.warning("%s %s: %s", exc.status, request.url.path, "denied")   # no one's name, no query
        return _json({"error": str(exc)}, exc.status)
    except CourtsyncError as exc:
        body, status, code = _error(exc), _status(exc), exc.exit_code
    response = _json(body, status)
    response.headers["X-Courtsync-Exit"] = str(code)
    if status >= 500:   # (no line per answer: at 50 requests a second the log's lock costs more than the answer)
        log.warning("%s %s %d in %.0f ms", request.method, request.url.path, status,
                    (clock.monotonic() - started) * 1000)
    return response


def _page(request: Request, contexts: ContextCache) -> Response:
    """The check page (web/pages.py); a sign-in refused is a short page of its own."""
    try:
        query = Query(list(request.query_params.multi_items()))
        query.check_known(pages.PAGE_PARAMS)
        today = date.today()
        with contexts.open(today) as ctx:
            viewer = _viewer(request, ctx)
            html, status = pages.page(ctx, viewer, query, today)
    except Denied as exc:
        log.warning("%s /: %s", exc.status, "denied")
        return HTMLResponse(_plain_page("Not signed in", str(exc)), status_code=exc.status)
    except CourtsyncError as exc:
        return HTMLResponse(_plain_page("Not available", _error(exc)["error"]), status_code=_status(exc))
    return HTMLResponse(html, status_code=status)


def _plain_page(title: str, text: str) -> str:
    import html

    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" '
            f'content="width=device-width, initial-scale=1"><title>{html.escape(title)}</title>'
            f'<link rel="stylesheet" href="/static/courtsync.css"></head><body><main><h1>{html.escape(title)}</h1>'
            f"<p>{html.escape(text)}</p></main></body></html>")


def _stylesheet(contexts: ContextCache) -> Response:
    """The page's stylesheet: the agency's templates/courtsync.css beside courtsync.toml, else the shipped one."""
    from courtsync.notices import render

    env = render.for_agency(load_config(contexts.config_path).base_dir)
    text = env.loader.get_source(env, "courtsync.css")[0] if env.loader is not None else ""
    return Response(text, media_type="text/css; charset=utf-8", headers={"Cache-Control": "public, max-age=3600"})


def _viewer(request: Request, ctx: Context) -> Viewer:
    server = ctx.config.server
    if server.auth == "none":
        return EVERYONE
    client = request.client.host if request.client else None
    if not server.trusts(client):
        raise Denied(401, "Sign in through the agency's sign-on: this service only takes requests from it.")
    email = request.headers.get(server.user_header, "")
    if not email.strip():
        raise Denied(401, "Not signed in: the sign-on did not say who you are.")
    viewer = viewer_for(email, ctx.roster.workers, [(li.email, li.courts) for li in ctx.config.liaison],
                        server.admins)
    if viewer is None:
        raise Denied(403, "You are signed in, but not as anyone on the roster, a liaison or an admin.")
    return viewer


def _ready(contexts: ContextCache) -> Response:
    """200 with each source's status when the configuration and the store can be read; 503 otherwise."""
    try:
        with contexts.open(date.today()) as ctx:
            from courtsync.app.health import source_states

            states = source_states(ctx, date.today(), clock.time)
    except CourtsyncError as exc:
        return _json({"status": "unavailable", "error": _error(exc)["error"]}, 503)
    except Exception as exc:   # the store went away mid-request: not ready, and the server keeps running
        log.error("readyz: %s", type(exc).__name__)
        return _json({"status": "unavailable", "error": "the store cannot be read"}, 503)
    counts: dict[str, int] = {}
    for s in states:
        counts[s.status] = counts.get(s.status, 0) + 1
    courts = [{"id": s.id, "status": s.status, "synced_at": s.synced_at} for s in states
              if not s.id.startswith("calendar:") and s.kind not in ("exchange", "graph")]
    return _json({"status": "ready", "sources": counts, "courts": courts}, 200)


UNREACHABLE = "The service's database cannot be reached right now; try again in a minute."


def _error(exc: CourtsyncError) -> dict[str, Any]:
    if isinstance(exc, StoreUnavailable):   # its message names the database's host: for the log, not the asker
        log.error("store unavailable: %s", exc.message)
        return {"error": UNREACHABLE, "problems": [], "hint": None, "exit_code": exc.exit_code}
    return {"error": exc.message, "problems": [str(p) for p in exc.problems], "hint": exc.hint,
            "exit_code": exc.exit_code}


def _status(exc: CourtsyncError) -> int:
    """The HTTP status of a command's error: a usage error is the asker's (400, or 404 for an id that names
    nothing); a configuration that cannot be read, a store that cannot be reached (or, exit 3, read) is the
    service's (503)."""
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, ConfigError):
        return 503
    if isinstance(exc, api.Forbidden):
        log.warning("403: %s", "denied")   # no one's name, no query
        return 403
    return 503 if exc.exit_code == EXIT_SOURCE else 400


def _json(body: dict[str, Any], status: int) -> Response:
    """The body as the commands print it with --format json (the same text, byte for byte)."""
    return Response(formats.to_json(body) + "\n", status_code=status, media_type="application/json")
