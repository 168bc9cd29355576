"""HTTP feed behaviour against a real server on loopback: failures are errors, never empty calendars."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from courtsync.calendars import http as http_module
from courtsync.calendars.base import read_whole, redact
from courtsync.calendars.http import HttpSource
from courtsync.errors import SourceError
from courtsync.sync.readers import compare
from tests.calendar_helpers import CALENDARS, WINDOW, stored_after
from tests.feed_server import FeedServer, Route

FEED = (CALENDARS / "court" / "status_and_transparency.ics").read_bytes()


@pytest.fixture
def server() -> Iterator[FeedServer]:
    s = FeedServer().start()
    yield s
    s.stop()


def source(server: FeedServer, path: str = "/feed.ics") -> HttpSource:
    return HttpSource("court", "court", server.url(path) + "?token=s3cr3t")


def test_etag_makes_an_unchanged_feed_one_request_and_no_parsing(server: FeedServer) -> None:
    server.routes["/feed.ics"] = Route(body=FEED)
    src = source(server)
    first = read_whole(src, WINDOW)
    assert first.validators.get("etag") and len(first.groups) == 4
    second = src.fetch(WINDOW, first.validators)
    assert second.not_modified and second.round_trips == 1
    assert server.count("/feed.ics") == 2
    assert server.requests[-1][1].get("If-None-Match") == first.validators["etag"]


def test_without_etag_unchanged_events_are_not_parsed(server: FeedServer) -> None:
    server.routes["/feed.ics"] = Route(body=FEED, etag=False)
    src = source(server)
    first = src.fetch(WINDOW, {})
    second = src.fetch(WINDOW, first.validators)
    assert not second.not_modified and compare(second, stored_after(first)) == ([], {})   # nothing parsed


@pytest.mark.parametrize(("route", "needle"), [
    (Route(body=b"<!DOCTYPE html><html><body>Please sign in</body></html>", content_type="text/html"), "HTML"),
    (Route(body=b"Service Unavailable", status=503, content_type="text/plain"), "HTTP 503"),
    (Route(body=b"nope", status=403, content_type="text/plain"), "HTTP 403"),
    (Route(body=FEED, truncate_to=len(FEED) // 2), "truncated"),
    (Route(body=FEED[: len(FEED) // 2]), "truncated"),
    (Route(body=b""), "empty"),
])
def test_broken_answers_are_errors_never_empty_calendars(server: FeedServer, route: Route, needle: str) -> None:
    server.routes["/feed.ics"] = route
    with pytest.raises(SourceError) as info:
        read_whole(source(server), WINDOW)
    assert needle in info.value.message
    assert "s3cr3t" not in str(info.value)


def test_missing_feed_is_404(server: FeedServer) -> None:
    with pytest.raises(SourceError) as info:
        read_whole(source(server, "/gone.ics"), WINDOW)
    assert "HTTP 404" in info.value.message and "address may have changed" in str(info.value)


def test_timeout_is_bounded(server: FeedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http_module, "TIMEOUT", (2, 0.3))
    server.routes["/feed.ics"] = Route(body=FEED, delay=1.0)
    with pytest.raises(SourceError) as info:
        read_whole(source(server), WINDOW)
    assert "did not answer" in info.value.message


def test_connection_refused(server: FeedServer) -> None:
    url = server.url("/feed.ics")
    server.stop()
    with pytest.raises(SourceError) as info:
        read_whole(HttpSource("court", "court", url), WINDOW)
    assert "Cannot connect" in info.value.message


def test_redirects_are_followed_and_bounded(server: FeedServer) -> None:
    server.routes["/old.ics"] = Route(status=301, headers={"Location": "/feed.ics"}, etag=False)
    server.routes["/feed.ics"] = Route(body=FEED)
    snap = read_whole(source(server, "/old.ics"), WINDOW)
    assert len(snap.groups) == 4 and snap.round_trips == 2
    server.routes["/loop.ics"] = Route(status=302, headers={"Location": "/loop.ics"}, etag=False)
    with pytest.raises(SourceError) as info:
        read_whole(source(server, "/loop.ics"), WINDOW)
    assert "redirected more than" in info.value.message


def test_https_to_http_redirect_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import requests

    class Answer:
        status_code = 302
        headers = {"Location": "http://court.example.org/feed.ics"}
        reason = "Found"

        def close(self) -> None:
            pass

    monkeypatch.setattr(requests.Session, "get", lambda self, url, **kw: Answer())
    with pytest.raises(SourceError) as info:
        read_whole(HttpSource("c", "court", "https://court.example.org/feed.ics?token=x"), WINDOW)
    assert "unencrypted" in info.value.message


def test_webcal_means_https_and_labels_hide_secrets() -> None:
    src = HttpSource("c", "court", "webcal://user:pw@court.example.org/cal.ics?token=abc")
    assert src.url.startswith("https://")
    assert src.label == "https://court.example.org/cal.ics?…"
    assert redact("https://a.example/x.ics") == "https://a.example/x.ics"
