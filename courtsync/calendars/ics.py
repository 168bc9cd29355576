"""iCalendar sources: reading bytes into groups of items (re-reading only changed groups), and files."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from courtsync.calendars import ics_full
from courtsync.calendars.base import Group, Snapshot, Window
from courtsync.calendars.ics_events import Reader, read_plain
from courtsync.calendars.ics_text import Block, FeedError, read_document
from courtsync.errors import SourceError
from courtsync.models import SourceKind

MAX_BYTES = 64 * 1024 * 1024


def read_ics(data: bytes, *, source: str, name: str, kind: SourceKind, window: Window,
             case_pattern: str | None, known: dict[str, str]) -> Snapshot:
    """Bytes of one iCalendar file -> a Snapshot. Raises SourceError if the file is unusable as a whole."""
    try:
        doc = read_document(data, name, source)
    except FeedError as exc:
        raise SourceError(str(exc), hint="courtsync keeps the last good copy of this source until it reads "
                                         "again.") from None
    reader = Reader(source=source, name=name, kind=kind, tz=window.tz, window=(window.start, window.end),
                    case_pattern=re.compile(case_pattern) if case_pattern else None, doc=doc)
    by_uid: dict[str, list[Block]] = {}
    for block in doc.events:
        by_uid.setdefault(block.uid or f"(no UID, line {block.number})", []).append(block)
    base = "|".join((doc.context(), kind, window.tz.key, case_pattern or "", _READER_VERSION))
    groups: dict[str, Group] = {}
    for key, blocks in by_uid.items():
        digest = hashlib.sha256(base.encode())
        if any(b.has("RRULE", "RDATE") for b in blocks):
            digest.update(window.key().encode())
        for b in blocks:
            digest.update(b.text().encode())
        h = digest.hexdigest()
        if known.get(key) == h:
            groups[key] = Group(hash=h)
            continue
        if len(blocks) == 1 and blocks[0].uid:
            try:
                fast = read_plain(blocks[0], reader)
            except (ValueError, OverflowError):  # an odd value: the careful reader reports it properly
                fast = None
            if fast is not None:
                groups[key] = Group(hash=h, items=fast[0], problems=fast[1])
                continue
        try:
            items, problems = ics_full.read_group(blocks, reader)
        except Exception as exc:  # a defect of ours or of a library: report it, keep the rest of the file
            items, problems = [], [reader.problem(blocks[0].number, f"internal error reading this event "
                                                                    f"({type(exc).__name__}); please report it")]
        for b in blocks:
            if not b.uid:
                problems.append(reader.problem(b.number, "event has no UID; read anyway, but a change to it "
                                                         "will look like a new event"))
        groups[key] = Group(hash=h, items=items, problems=problems)
    return Snapshot(groups=groups, problems=list(doc.problems))


# Raise when the reading of events changes, so stored groups are read again.
_READER_VERSION = "3"


class FileSource:
    """A local .ics file (a court's export, or a person's calendar)."""

    def __init__(self, id: str, kind: SourceKind, location: str, base_dir: Path, owner: str | None = None,
                 case_pattern: str | None = None) -> None:
        self.id = id
        self.kind = kind
        self.owner = owner
        self.path = (base_dir / Path(location).expanduser()).resolve()
        self.label = str(self.path)
        self.case_pattern = case_pattern

    def read(self, window: Window, validators: dict[str, str], known: dict[str, str]) -> Snapshot:
        try:
            stat = self.path.stat()
            if stat.st_size > MAX_BYTES:
                raise SourceError(f"{self.path} is {stat.st_size // 1_000_000} MB, over the "
                                  f"{MAX_BYTES // 1_000_000} MB limit for a calendar file.")
            signature = f"{stat.st_size}:{stat.st_mtime_ns}"
            if validators.get("file") == signature and known:
                return Snapshot(groups={}, validators=validators, not_modified=True)
            data = self.path.read_bytes()
        except FileNotFoundError:
            raise SourceError(f"{self.path} does not exist.", hint="Check the path in courtsync.toml (relative "
                                                                   "to the folder of courtsync.toml).") from None
        except OSError as exc:
            raise SourceError(f"Cannot read {self.path}: {exc.strerror}.") from None
        snap = read_ics(data, source=self.id, name=str(self.path), kind=self.kind, window=window,
                        case_pattern=self.case_pattern, known=known)
        snap.validators = {"file": signature}
        return snap
