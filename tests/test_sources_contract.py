"""Each calendar source type passes the one contract (tests/contract.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from courtsync.calendars.base import Source
from courtsync.calendars.files import FileSource
from courtsync.calendars.http import HttpSource
from courtsync.calendars.ics import read_ics
from courtsync.calendars.memory import MemorySource
from tests.calendar_helpers import WINDOW
from tests.contract import MailboxContract, SourceContract
from tests.feed_server import FeedServer, Route


class FileBackend:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def publish(self, data: bytes) -> None:
        path = self.folder / "court.ics"
        path.write_bytes(data)

    def break_it(self) -> None:
        (self.folder / "court.ics").unlink()

    def source(self) -> Source:
        return FileSource("court", "court", "court.ics", self.folder, case_pattern=r"\d{4}-J[AD]-\d{3,6}")


class HttpBackend:
    def __init__(self, server: FeedServer) -> None:
        self.server = server

    def publish(self, data: bytes) -> None:
        self.server.routes["/feed.ics"] = Route(body=data)

    def break_it(self) -> None:
        self.server.routes["/feed.ics"] = Route(body=b"Service Unavailable", status=503, content_type="text/plain")

    def source(self) -> Source:
        return HttpSource("court", "court", self.server.url("/feed.ics?token=secret"),
                          case_pattern=r"\d{4}-J[AD]-\d{3,6}")


class MemoryBackend:
    def __init__(self) -> None:
        self.items: list = []  # type: ignore[type-arg]
        self.fail: str | None = None
        self.made: MemorySource | None = None

    def publish(self, data: bytes) -> None:
        reading = read_ics(data, source="court", name="memory", kind="court", window=WINDOW, case_pattern=None)
        self.items[:] = [i for g in reading.groups.values() for i in g.items]

    def break_it(self) -> None:
        assert self.made is not None
        self.made.fail = f"{self.made.label} is unavailable"

    def source(self) -> Source:
        self.made = MemorySource("court", "court", self.items)
        return self.made


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    server = FeedServer().start()
    yield server
    server.stop()


class TestFileSource(SourceContract):
    @pytest.fixture
    def backend(self, tmp_path: Path) -> FileBackend:
        return FileBackend(tmp_path)


class TestHttpSource(SourceContract):
    @pytest.fixture
    def backend(self, feed_server: FeedServer) -> HttpBackend:
        return HttpBackend(feed_server)


class TestMemorySource(SourceContract):
    @pytest.fixture
    def backend(self) -> MemoryBackend:
        return MemoryBackend()


# --- mail systems ----------------------------------------------------------------------------------

def _held(email: str, n: int) -> object:
    from datetime import datetime, timedelta

    from tests.mail_fixtures import UTC, Held

    start = datetime(2027, 2, 8 + n, 15, tzinfo=UTC)  # inside the contract WINDOW (from 2027-01)
    return Held(key=f"{email}-{n}", start=start, end=start + timedelta(hours=1), status="busy", subject=f"Visit {n}")


class GraphBackend:
    def __init__(self, mock: object) -> None:
        self.mock = mock
        self.calendars: dict[str, list] = {}  # type: ignore[type-arg]
        self.broken = False

    def publish(self, calendars: dict[str, list]) -> None:  # type: ignore[type-arg]
        self.calendars = dict(calendars)

    def break_it(self) -> None:
        self.broken = True

    def source(self, mailboxes: dict[str, str]) -> Source:
        from courtsync.calendars.graph import GraphSource
        from tests.test_graph import settings

        return GraphSource("graph", settings(mode="calendar-view"), mailboxes)


class EwsBackend(GraphBackend):
    def source(self, mailboxes: dict[str, str]) -> Source:
        from courtsync.calendars.ews import EwsSource
        from tests.test_ews import settings

        return EwsSource("exchange", settings(), mailboxes)


class TestGraphSource(MailboxContract):
    @pytest.fixture
    def held_item(self) -> object:
        return _held

    @pytest.fixture
    def mailbox_backend(self, monkeypatch: pytest.MonkeyPatch) -> Iterator[GraphBackend]:
        import json
        import re

        import responses

        from tests.mail_fixtures import OPENID, TENANT, graph_event

        monkeypatch.setenv("COURTSYNC_GRAPH_SECRET", "s")
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            backend = GraphBackend(mock)
            mock.get(f"https://login.microsoftonline.com/{TENANT}/v2.0/.well-known/openid-configuration", json=OPENID)
            mock.post(OPENID["token_endpoint"], json={"token_type": "Bearer", "expires_in": 3599, "access_token": "t"})

            def view(request: object) -> tuple[int, dict[str, str], str]:
                if backend.broken:
                    return 500, {}, json.dumps({"error": {"code": "InternalServerError", "message": "boom"}})
                email = re.search(r"/users/([^/]+)/calendarView", request.url).group(1).replace("%40", "@")  # type: ignore
                return 200, {}, json.dumps({"value": [graph_event(h) for h in backend.calendars.get(email, [])]})

            mock.add_callback(responses.GET, re.compile(r"https://graph\.microsoft\.com/v1\.0/users/.*/calendarView.*"),
                              callback=view)
            yield backend


class TestEwsSource(MailboxContract):
    @pytest.fixture
    def held_item(self) -> object:
        return _held

    @pytest.fixture
    def mailbox_backend(self, monkeypatch: pytest.MonkeyPatch) -> Iterator[EwsBackend]:
        import responses
        from exchangelib.protocol import CachingProtocol

        from tests import mail_fixtures

        monkeypatch.setenv("COURTSYNC_EWS_PASSWORD", "pw")
        CachingProtocol.clear_cache()
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            backend = EwsBackend(mock)
            monkeypatch.setattr(mail_fixtures, "held", lambda email, base: backend.calendars.get(email, []))

            def answer(request: object) -> tuple[int, dict[str, str], str]:
                if backend.broken:
                    return 401, {}, "Unauthorized"
                body = request.body.decode()  # type: ignore[attr-defined]
                return 200, {"Content-Type": "text/xml"}, mail_fixtures.availability_answer(body, None, set())  # type: ignore

            mock.add_callback(responses.POST, "https://mail.agency.example/EWS/Exchange.asmx", callback=answer)
            yield backend
        CachingProtocol.clear_cache()


def test_source_ids_print_and_parse_as_stored() -> None:
    from courtsync.models import SourceId

    cases = {"cook-cpd": SourceId.court_feed("cook-cpd"), "cook-cpd#2": SourceId.court_feed("cook-cpd", 2),
             "calendar:w01": SourceId.calendar("w01"), "exchange": SourceId("exchange"), "graph": SourceId("graph")}
    for text, sid in cases.items():
        assert str(sid) == text and SourceId.parse(text) == sid
    assert SourceId.parse("cook-cpd#3").court == "cook-cpd" and SourceId.parse("graph").mail_system
    assert SourceId.parse("calendar:w01").court == ""   # not a court's feed
