"""iCalendar bytes -> groups of items, re-reading only the events whose bytes changed."""

from __future__ import annotations

import hashlib
import re

from courtsync.calendars.base import Group, Snapshot, Window
from courtsync.calendars.ics_events import Reader, read_plain, read_plain_chunk
from courtsync.calendars.ics_text import (
    Block,
    Chunk,
    FeedError,
    chunk_block,
    number_lines,
    read_document,
    scan,
    uid_of,
)
from courtsync.errors import SourceError
from courtsync.models import SourceKind


def read_ics(data: bytes, *, source: str, name: str, kind: SourceKind, window: Window,
             case_pattern: str | None, known: dict[str, str]) -> Snapshot:
    """Bytes of one iCalendar file -> a Snapshot. Raises SourceError if the file is unusable as a whole.

    Each VEVENT is hashed as raw bytes; `known` (group key -> comma-joined hashes of its VEVENTs, as
    stored) says which are unchanged, and those are neither decoded nor parsed, their UID not even read.
    """
    try:
        quick = scan(data, name, source)
        doc, raw_pieces = quick if quick is not None else (read_document(data, name, source), [])
    except FeedError as exc:
        raise SourceError(str(exc), hint="courtsync keeps the last good copy of this source until it reads "
                                         "again.") from None
    reader = Reader(source=source, name=name, kind=kind, tz=window.tz, window=(window.start, window.end),
                    case_pattern=re.compile(case_pattern) if case_pattern else None, doc=doc)
    # What a reading depends on besides the event's own text. The expansion window is not in it: a new
    # window makes sync re-read the whole source (sync.py), so stored hashes only ever meet one window.
    salt = hashlib.blake2b("|".join((doc.context(), kind, window.tz.key, case_pattern or "",
                                     _READER_VERSION)).encode(), digest_size=32).digest()
    owner_of = {h: key for key, joined in known.items() for h in joined.split(",")}
    parts: dict[str, list[tuple[str, Chunk | Block]]] = {}
    if quick is not None:
        for offset, raw in raw_pieces:
            h = hashlib.blake2b(raw, digest_size=16, key=salt).hexdigest()
            key = owner_of.get(h)
            uid = None
            if key is None:
                uid = uid_of(raw)
                key = uid or f"(no UID #{offset})"
            parts.setdefault(key, []).append((h, Chunk(uid, offset, raw)))
    else:
        for block in doc.events:
            h = hashlib.blake2b(block.text().encode(), digest_size=16, key=salt).hexdigest()
            parts.setdefault(block.uid or f"(no UID #{block.number})", []).append((h, block))
    groups: dict[str, Group] = {}
    changed: dict[str, tuple[str, list[Chunk | Block]]] = {}
    for key, members in parts.items():
        joined = ",".join(sorted(h for h, _ in members))
        if known.get(key) == joined:
            groups[key] = Group(hash=joined)
        else:
            changed[key] = (joined, [m for _, m in members])
    chunks = [m for _, group_parts in changed.values() for m in group_parts if isinstance(m, Chunk)]
    for chunk in chunks:
        if chunk.uid is None:  # known VEVENT in a changed group: its UID was not needed until now
            chunk.uid = uid_of(chunk.raw)
    number_lines(doc, sorted(chunks, key=lambda c: c.offset))
    for key, (joined, group_parts) in changed.items():
        groups[key] = _read_parts(group_parts, reader, joined, name, source)
    return Snapshot(groups=groups, problems=list(doc.problems))


def _read_parts(parts: list[Chunk | Block], reader: Reader, h: str, name: str, source: str) -> Group:
    if len(parts) == 1 and isinstance(parts[0], Chunk) and parts[0].uid:
        try:
            fast = read_plain_chunk(parts[0].raw, parts[0].line, reader)
        except (ValueError, OverflowError):
            fast = None
        if fast is not None:
            return Group(hash=h, items=fast[0], problems=fast[1])
    blocks = [p if isinstance(p, Block) else chunk_block(p, name, source) for p in parts]
    group = _read_group(blocks, reader, h)
    line_problems = [p for b in blocks for p in b.problems]
    if line_problems:
        group.problems = line_problems + (group.problems or [])
    return group


def _read_group(blocks: list[Block], reader: Reader, h: str) -> Group:
    if len(blocks) == 1 and blocks[0].uid:
        try:
            fast = read_plain(blocks[0], reader)
        except (ValueError, OverflowError):  # an odd value: the careful reader reports it properly
            fast = None
        if fast is not None:
            return Group(hash=h, items=fast[0], problems=fast[1])
    from courtsync.calendars import ics_full  # icalendar and recurring-ical-events load only when needed

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
_READER_VERSION = "8"
