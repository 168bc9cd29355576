"""Writing a source's groups into the store: changed groups updated in place or replaced, unchanged ones
that moved renumbered, gone ones dropped. Every function runs inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from courtsync.models import BusyItem
from courtsync.store import dialect
from courtsync.store.base import GroupTag, GroupWrite, Owners
from courtsync.store.dialect import Db


def drop_groups(db: Db, source: str, keys: list[str]) -> None:
    pairs = [(source, key) for key in keys]
    db.executemany("DELETE FROM item_workers WHERE item IN (SELECT id FROM items WHERE source = ? AND grp = ?)",
                   pairs)
    db.executemany("DELETE FROM items WHERE source = ? AND grp = ?", pairs)
    db.executemany("DELETE FROM problems WHERE source = ? AND grp = ?", pairs)
    db.executemany("DELETE FROM groups WHERE source = ? AND key = ?", pairs)


def shift(db: Db, source: str, shifted: dict[str, int]) -> None:
    """Unchanged groups whose lines moved (an event above them grew or shrank): renumber in place."""
    if not shifted:
        return
    db.executemany("UPDATE items SET line = line + ? WHERE source = ? AND grp = ?",
                   [(delta, source, key) for key, delta in shifted.items()])
    moved = []
    for key, delta in shifted.items():
        for rowid, location in db.execute("SELECT id, location FROM problems WHERE source = ? AND grp = ?",
                                          (source, key)):
            where, _, line = location.rpartition(":")
            if line.isdigit():
                moved.append((f"{where}:{int(line) + delta}", rowid))
    db.executemany("UPDATE problems SET location = ? WHERE id = ?", moved)


def moved_groups(db: Db, source: str, moved: dict[str, GroupTag]) -> None:
    """Unchanged groups that now start on another line: their items and problems renumbered by as many lines
    as the group moved (a group whose stored tag is no longer the one given, written by another sync
    meanwhile, is left as that sync stored it)."""
    if not moved:
        return
    deltas: dict[str, int] = {}
    for key, h in db.execute("SELECT key, hash FROM groups WHERE source = ?", (source,)):
        tag = moved.get(key)
        now = GroupTag.decode(h) if tag is not None else None
        if tag is not None and now is not None and now.tag == tag.tag and now.line != tag.line:
            deltas[key] = tag.line - now.line
    shift(db, source, deltas)
    db.executemany("UPDATE groups SET hash = ? WHERE source = ? AND key = ?",
                   [(moved[key].encode(), source, key) for key in deltas])


def write_groups(db: Db, source: str, groups: dict[str, GroupWrite], owners: Owners) -> None:
    """Changed groups. One with as many items as stored (the usual edit: a new room, a new time) is
    updated row by row, so the indexes and worker links it did not change are not written; any
    other is replaced."""
    stored: dict[str, list[tuple[int, float, str]]] = {}
    existing: dict[str, str] = {}   # group key -> stored tag (encoded)
    keys = list(groups)
    for i in range(0, len(keys), 500):
        chunk = keys[i:i + 500]
        for key, h, item_id, start, workers in db.execute(
                f"SELECT g.key, g.hash, i.id, i.start, i.worker_ids FROM groups g LEFT JOIN items i ON "
                f"i.source = g.source AND i.grp = g.key WHERE g.source = ? AND g.key IN "
                f"({','.join('?' * len(chunk))}) ORDER BY i.id", (source, *chunk)):
            existing[key] = h
            if item_id is not None:
                stored.setdefault(key, []).append((item_id, start, workers))
    in_place = {k for k in keys if k in stored and len(stored[k]) == len(groups[k].items)}
    fresh = [k for k in keys if k not in in_place]
    drop_groups(db, source, [k for k in fresh if k in existing])
    db.executemany("DELETE FROM problems WHERE source = ? AND grp = ?", [(source, k) for k in in_place])
    light: list[tuple[Any, ...]] = []
    moved: list[tuple[Any, ...]] = []
    unlink: list[tuple[int]] = []
    links: list[tuple[str, float, int]] = []
    for key in in_place:
        for (item_id, old_start, old_workers), item in zip(stored[key], groups[key].items, strict=True):
            workers = owners(item)
            start, values = item.start.timestamp(), _values(item, workers)
            if start == old_start:
                light.append((*values, item_id))
            else:
                moved.append((start, *values, item_id))
            if start != old_start or values[-1] != old_workers:
                unlink.append((item_id,))
                links.extend((w, start, item_id) for w in workers)
    db.executemany(f"UPDATE items SET {_SET} WHERE id = ?", light)
    db.executemany(f"UPDATE items SET start = ?, {_SET} WHERE id = ?", moved)
    db.executemany("DELETE FROM item_workers WHERE item = ?", unlink)
    db.executemany("INSERT INTO item_workers VALUES (?, ?, ?) ON CONFLICT DO NOTHING", links)
    db.executemany("INSERT INTO groups (source, key, hash) VALUES (?, ?, ?) ON CONFLICT (source, key) "
                   "DO UPDATE SET hash = excluded.hash",
                   [(source, key, groups[key].tag.encode()) for key in keys
                    if key not in in_place or existing.get(key) != groups[key].tag.encode()])
    _insert_items(db, source, [(key, groups[key].items) for key in fresh], owners)
    db.executemany("INSERT INTO problems (source, grp, location, reason) VALUES (?, ?, ?, ?)",
                   [(source, key, p.location, p.reason) for key in keys for p in groups[key].problems])


def _insert_items(db: Db, source: str,
                  groups: Iterable[tuple[str, Iterable[BusyItem]]], owners: Owners) -> None:
    """Items with ids given here, so rows and their worker links go in as two bulk inserts."""
    listed = [(key, list(items)) for key, items in groups]
    ids = iter(dialect.item_ids(db, sum(len(items) for _, items in listed)))
    rows: list[tuple[Any, ...]] = []
    links: list[tuple[str, float, int]] = []
    for key, items in listed:
        for item in items:
            workers = owners(item)
            start = item.start.timestamp()
            item_id = next(ids)
            rows.append((item_id, source, key, start, *_values(item, workers)))
            links.extend((w, start, item_id) for w in workers)
    db.executemany(f"INSERT INTO items (id, source, grp, start, {', '.join(_VALUES)}) VALUES "
                   f"({', '.join('?' * (4 + len(_VALUES)))})", rows)
    db.executemany("INSERT INTO item_workers VALUES (?, ?, ?) ON CONFLICT DO NOTHING", links)


# An item's columns besides id, source, grp and start (those are indexed), in the order _values gives them.
_VALUES = ("uid", "instance", '"end"', "all_day", "status", "busy", "summary", "location", "case_numbers", "attendees",
           "line", "flags", "private", "worker_ids")
_SET = ", ".join(f"{c} = ?" for c in _VALUES)


def _values(item: BusyItem, workers: tuple[str, ...]) -> tuple[Any, ...]:
    return (item.uid, item.instance, item.end.timestamp() if item.end else None, int(item.all_day), item.status,
            int(item.busy), item.summary, item.location, "\n".join(item.case_numbers), "\n".join(item.attendees),
            item.line, "\n".join(item.flags), int(item.private), ";".join(workers))
