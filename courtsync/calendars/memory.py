"""An in-memory source: items given directly (tests, and the reference the contract suite compares to)."""

from __future__ import annotations

import hashlib

from courtsync.calendars.base import Group, Snapshot, Window
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

    def read(self, window: Window, validators: dict[str, str], known: dict[str, str]) -> Snapshot:
        if self.fail:
            raise SourceError(self.fail)
        groups: dict[str, list[BusyItem]] = {}
        for item in self.items:
            groups.setdefault(item.uid, []).append(item)
        out = {}
        for uid, items in groups.items():
            h = hashlib.sha256(repr(items).encode()).hexdigest()
            out[uid] = Group(hash=h) if known.get(uid) == h else Group(hash=h, items=items, problems=[])
        return Snapshot(groups=out)
