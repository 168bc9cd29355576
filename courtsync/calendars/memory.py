"""An in-memory source: items given directly (tests, and the reference the contract suite compares to)."""

from __future__ import annotations

import hashlib

from courtsync.calendars.base import Fetched, Group, RawGroup, Window
from courtsync.errors import SourceError
from courtsync.models import BusyItem, SourceKind


class MemorySource:
    def __init__(self, id: str, kind: SourceKind, items: list[BusyItem], owner: str | None = None,
                 fail: str | None = None) -> None:
        self.id = id
        self.kind = kind
        self.owner = owner
        self.label = f"memory:{id}"
        self.items = items
        self.fail = fail

    def fetch(self, window: Window, validators: dict[str, str]) -> Fetched:
        if self.fail:
            raise SourceError(self.fail)
        groups: dict[str, list[BusyItem]] = {}
        for item in self.items:
            groups.setdefault(item.uid, []).append(item)
        return Fetched(groups=[RawGroup(uid, hashlib.sha256(repr(items).encode()).hexdigest(), 0, items)
                               for uid, items in groups.items()])

    def parse(self, fetched: Fetched, groups: list[RawGroup]) -> dict[str, Group]:
        return {g.key: Group(list(g.data)) for g in groups}
