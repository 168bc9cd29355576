"""iCalendar sources: reading bytes into groups of items (re-reading only changed groups), and files."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from courtsync.calendars import ics_full
from courtsync.calendars.base import Group, Snapshot, Window
from courtsync.calendars.ics_events import Reader, read_plain
from courtsync.calendars.ics_text import Block, Chunk, FeedError, chunk_block, read_document, scan
from courtsync.errors import SourceError
from courtsync.models import SourceKind

MAX_BYTES = 64 * 1024 * 1024


def read_ics(data: bytes, *, source: str, name: str, kind: SourceKind, window: Window,
             case_pattern: str | None, known: dict[str, str]) -> Snapshot:
    """Bytes of one iCalendar file -> a Snapshot. Raises SourceError if the file is unusable as a whole."""
    try:
        quick = scan(data, name, source)
        doc, chunks = quick if quick is not None else (read_document(data, name, source), [])
    except FeedError as exc:
        raise SourceError(str(exc), hint="courtsync keeps the last good copy of this source until it reads "
                                         "again.") from None
    reader = Reader(source=source, name=name, kind=kind, tz=window.tz, window=(window.start, window.end),
                    case_pattern=re.compile(case_pattern) if case_pattern else None, doc=doc)
    base = "|".join((doc.context(), kind, window.tz.key, case_pattern or "", _READER_VERSION)).encode()
    # Group by UID; hash each group's raw text, so an unchanged event is neither decoded nor parsed.
    raw_groups: dict[str, list[Chunk | Block]] = {}
    for part in chunks or doc.events:
        raw_groups.setdefault(part.uid or f"(no UID, line {_line(part)})", []).append(part)
    groups: dict[str, Group] = {}
    for key, parts in raw_groups.items():
        digest = hashlib.sha256(base)
        if any(_recurring(p) for p in parts):
            digest.update(window.key().encode())
        for p in parts:
            digest.update(p.raw if isinstance(p, Chunk) else p.text().encode())
        h = digest.hexdigest()
        if known.get(key) == h:
            groups[key] = Group(hash=h)
            continue
        blocks = [p if isinstance(p, Block) else chunk_block(p, name, source) for p in parts]
        groups[key] = _read_group(blocks, reader, h)
        line_problems = [p for b in blocks for p in b.problems]
        if line_problems:
            groups[key].problems = line_problems + (groups[key].problems or [])
    return Snapshot(groups=groups, problems=list(doc.problems))


def _line(part: Chunk | Block) -> int:
    return part.line if isinstance(part, Chunk) else part.number


def _recurring(part: Chunk | Block) -> bool:
    return part.recurring() if isinstance(part, Chunk) else part.has("RRULE", "RDATE")


def _read_group(blocks: list[Block], reader: Reader, h: str) -> Group:
    if len(blocks) == 1 and blocks[0].uid:
        try:
            fast = read_plain(blocks[0], reader)
        except (ValueError, OverflowError):  # an odd value: the careful reader reports it properly
            fast = None
        if fast is not None:
            return Group(hash=h, items=fast[0], problems=fast[1])
    try:
        items, problems = ics_full.read_group(blocks, reader)
    except Exception as exc:  # a defect of ours or of a library: report it, keep the rest of the file
        items, problems = [], [reader.problem(blocks[0].number, f"internal error reading this event "
                                                                f"({type(exc).__name__}); please report it")]
    for b in blocks:
        if not b.uid:
            problems.append(reader.problem(b.number, "event has no UID; read anyway, but a change to it "
                                                     "will look like a new event"))
    return Group(hash=h, items=items, problems=problems)


# Raise when the reading of events changes, so stored groups are read again.
_READER_VERSION = "4"


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
