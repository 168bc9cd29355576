"""Sources whose parse is CPU-bound, for tests of reading side by side (a module of their own, light to import:
reader processes import it to run them)."""

from __future__ import annotations

import os
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from courtsync.calendars.base import Fetched, Group, RawGroup, Window
from courtsync.models import BusyItem

TZ = ZoneInfo("America/Chicago")


class Parse:
    """A source whose parse is CPU-bound for `seconds` (a parse that never looks at the deadline); its one item
    says which process parsed it."""

    kind = "court"
    owner = None

    def __init__(self, id: str, seconds: float = 0.0) -> None:
        self.id, self.label, self.seconds = id, f"test:{id}", seconds

    def fetch(self, window: Window, validators: dict[str, str]) -> Fetched:
        return Fetched(groups=[RawGroup(f"{self.id}-1", "t")])

    def parse(self, fetched: Fetched, groups: list[RawGroup]) -> dict[str, Group]:
        until = time.monotonic() + self.seconds
        while time.monotonic() < until:
            pass
        start = datetime(2027, 1, 11, 9, tzinfo=TZ)
        item = BusyItem(source=self.id, uid=f"{self.id}-1", instance="", start=start, end=start + timedelta(hours=1),
                        all_day=False, status="confirmed", busy=True, summary=f"read by {os.getpid()}", location="")
        return {g.key: Group([item]) for g in groups}


class InProcessParse(Parse):
    """Like a mail system's source: read on a thread of the sync's own process."""

    in_process = True


class Dies(Parse):
    """A source whose reading ends the process that reads it (as the kernel's out-of-memory killer would); in the
    sync's own process it reads as Parse does."""

    def __init__(self, id: str, parent: int) -> None:
        super().__init__(id)
        self.parent = parent

    def parse(self, fetched: Fetched, groups: list[RawGroup]) -> dict[str, Group]:
        if os.getpid() != self.parent:
            os._exit(9)
        return super().parse(fetched, groups)
