"""Each calendar source type passes the one contract (tests/contract.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from courtsync.calendars.base import Source
from courtsync.calendars.http import HttpSource
from courtsync.calendars.ics import FileSource, read_ics
from courtsync.calendars.memory import MemorySource
from tests.calendar_helpers import WINDOW
from tests.contract import SourceContract
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
        snap = read_ics(data, source="court", name="memory", kind="court", window=WINDOW, case_pattern=None,
                        known={})
        self.items[:] = [i for g in snap.groups.values() for i in (g.items or [])]

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
