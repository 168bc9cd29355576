"""iCalendar bytes -> groups of items, re-reading only the events whose bytes changed."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from itertools import compress, repeat
from operator import ne

from courtsync.calendars.base import Group, Snapshot, Window
from courtsync.calendars.ics_events import Reader, read_plain, read_plain_chunk
from courtsync.calendars.ics_parts import (
    PartIndex,
    begin_lines,
    cut,
    digest_all,
    digest_parts,
    event_bytes,
    event_part_ok,
    header_ok,
    salt_of,
)
from courtsync.calendars.ics_text import (
    Block,
    Chunk,
    Document,
    FeedError,
    add_context,
    check_head,
    chunk_block,
    read_document,
    scan,
    uid_of,
)
from courtsync.errors import SourceError
from courtsync.models import SourceKind


def read_ics(data: bytes, *, source: str, name: str, kind: SourceKind, window: Window,
             case_pattern: str | None, known: dict[str, str]) -> Snapshot:
    """Bytes of one iCalendar file -> a Snapshot. Raises SourceError if the file is unusable as a whole.

    `known` is what the last good read left (base.Known). A regular file is cut at its events and
    only the parts that differ from the last read's are decoded and parsed (ics_parts); any other file
    is read whole, and its events hashed so that unchanged groups are not parsed again.
    """
    settings = (source, name, kind, window, case_pattern)
    index = PartIndex.decode(getattr(known, "index", None))
    stamped = False
    if index is not None:
        changes, restamped = _read_changes(data, index, *settings)
        if changes is not None:
            return changes
        stamped = index.stamped or restamped
    try:
        quick = scan(data, name, source)
        if quick is not None:
            snap = _read_all_parts(quick[0], quick[1], _body(data), stamped, *settings)
            if snap is not None:
                return snap
        doc = read_document(data, name, source)
    except FeedError as exc:
        raise SourceError(str(exc), hint="courtsync keeps the last good copy of this source until it reads "
                                         "again.") from None
    return _read_blocks(doc, known, *settings)


def _reader(doc: Document, source: str, name: str, kind: SourceKind, window: Window,
            case_pattern: str | None) -> tuple[Reader, str]:
    """How events of this file are read, and the salt: what a reading depends on besides the event's text."""
    reader = Reader(source=source, name=name, kind=kind, tz=window.tz, window=(window.start, window.end),
                    case_pattern=re.compile(case_pattern) if case_pattern else None, doc=doc)
    return reader, salt_of(doc.context(), kind, window.tz.key, case_pattern or "", window.key(), _READER_VERSION)


def _body(data: bytes) -> bytes:
    return data[3:] if data.startswith(b"\xef\xbb\xbf") else data


def _read_all_parts(doc: Document, parts: list[bytes], body: bytes, stamped: bool, source: str, name: str,
                    kind: SourceKind, window: Window, case_pattern: str | None) -> Snapshot | None:
    """A first read of a file the quick scan accepted; None if an event part is not whole. The part index
    it leaves ignores DTSTAMP lines when `stamped` (the last re-read found nearly every event restamped)."""
    reader, salt = _reader(doc, source, name, kind, window, case_pattern)
    lines = begin_lines(parts)
    digests = digest_parts(body, parts, stamped)
    if digests is None:
        digests, stamped = digest_all(parts), False
    keys = [""]
    members: dict[str, list[Chunk]] = {}
    for i in range(1, len(parts)):
        raw = event_bytes(parts[i])
        if raw is None:
            return None
        uid = uid_of(raw)
        key = uid or _no_uid_key(digests[i])
        keys.append(key)
        members.setdefault(key, []).append(Chunk(uid, i, raw, lines[i]))
    groups = {key: _read_parts(chunks, reader, "", name, source) for key, chunks in members.items()}
    header = Document(name=name)
    add_context(header, parts[0])
    # Kept only when the header alone says how events read (time zones declared up front), so that a
    # re-read can trust it; other files are read in full each time they change.
    index = PartIndex(salt, digests, keys, lines, stamped).encode() \
        if doc.calendars == 1 and header.context() == doc.context() else None
    return Snapshot(groups=groups, problems=list(doc.problems), index=index)


def _read_changes(data: bytes, index: PartIndex, source: str, name: str, kind: SourceKind, window: Window,
                  case_pattern: str | None) -> tuple[Snapshot | None, bool]:
    """Read only the events whose parts are new since `index`. (None, restamped) when the file must be read
    whole; restamped: most events changed and the file has DTSTAMPs, so perhaps only those changed."""
    body = _body(data)
    try:
        check_head(body, name)
        if not body.isascii():
            body.decode("utf-8")
    except (FeedError, UnicodeDecodeError):
        return None, False
    parts = cut(body)
    digests = digest_parts(body, parts, index.stamped)
    where = dict(zip(index.digests, range(len(index.digests)), strict=True))
    if digests is None or len(parts) < 2 or len(set(digests)) != len(digests) or len(where) != len(index.digests):
        return None, False   # no events, or the same bytes twice: counted properly by the whole read
    if digests[0] != index.digests[0] and not header_ok(parts[0]):
        return None, False
    doc = Document(name=name, calendars=1)
    add_context(doc, parts[0])
    reader, salt = _reader(doc, source, name, kind, window, case_pattern)
    if salt != index.salt:
        return None, False   # other time zones, window or settings: every event reads anew
    before = list(map(where.get, digests, repeat(-1)))   # each part's number in the last read; -1 if new
    count, last, old_last = len(parts), len(parts) - 1, len(index.digests) - 1
    if before[0] not in (0, -1) or 0 in before[1:] or old_last in before[1:last]:
        return None, False   # the header or the calendar's end moved
    new = [i for i in compress(range(count), map((-1).__eq__, before)) if i]
    if not index.stamped and len(new) * 2 > count and body.find(b"\nDTSTAMP") != -1:
        return None, True    # most events "changed": an export that restamps every event looks like this
    if not all(event_part_ok(parts[i], i == last) for i in new):
        return None, False
    lines = begin_lines(parts)
    keys = list(map(index.keys.__getitem__, before))   # a new part's key is set below
    keys[0] = ""
    changed: set[str] = set()
    for i in new:
        raw = event_bytes(parts[i])
        assert raw is not None   # event_part_ok saw it end
        keys[i] = uid_of(raw) or _no_uid_key(digests[i])
        changed.add(keys[i])
    changed.update(index.keys[j] for j in set(range(1, old_last + 1)).difference(before))
    moves: dict[str, list[int]] = {}
    old_lines = list(map(index.lines.__getitem__, before))
    for i in compress(range(count), map(ne, lines, old_lines)):
        if i and before[i] != -1:
            moves.setdefault(keys[i], []).append(lines[i] - old_lines[i])
    members: dict[str, list[int]] = {}
    wanted = changed | moves.keys()
    for i in compress(range(count), map(wanted.__contains__, keys)) if wanted else ():
        if i:
            members.setdefault(keys[i], []).append(i)
    shifted: dict[str, int] = {}
    for key, deltas in moves.items():
        if key in changed:
            continue
        if len(deltas) == len(members[key]) and len(set(deltas)) == 1:
            shifted[key] = deltas[0]
        else:
            changed.add(key)   # its events moved apart: read it again rather than guess its lines
    groups: dict[str, Group] = {}
    removed: list[str] = []
    for key in changed:
        if key not in members:
            removed.append(key)
            continue
        chunks = []
        for i in members[key]:
            raw = event_bytes(parts[i])
            if raw is None:
                return None, False
            chunks.append(Chunk(uid_of(raw), i, raw, lines[i]))
        groups[key] = _read_parts(chunks, reader, "", name, source)
    return Snapshot(groups=groups, partial=True, removed=sorted(removed), shifted=shifted,
                    kept=len(set(keys[1:])) - len(groups),
                    index=PartIndex(salt, digests, keys, lines, index.stamped).encode()), False


def _no_uid_key(digest: bytes) -> str:
    return f"(no UID {digest.hex()[:16]})"


def _read_blocks(doc: Document, known: dict[str, str], source: str, name: str, kind: SourceKind, window: Window,
                 case_pattern: str | None) -> Snapshot:
    """A file only the full reader takes: each group hashed, and read unless `known` has that hash."""
    reader, salt = _reader(doc, source, name, kind, window, case_pattern)
    key = bytes.fromhex(salt)
    found: dict[str, list[tuple[str, Block]]] = {}
    for block in doc.events:
        # The line is part of what is read (items and problems carry it): a block that moved is read again.
        h = hashlib.blake2b(f"{block.number}\n{block.text()}".encode(), digest_size=16, key=key).hexdigest()
        found.setdefault(block.uid or f"(no UID #{block.number})", []).append((h, block))
    groups: dict[str, Group] = {}
    for group_key, members in found.items():
        joined = ",".join(sorted(h for h, _ in members))
        groups[group_key] = Group(hash=joined) if known.get(group_key) == joined else \
            _read_parts([b for _, b in members], reader, joined, name, source)
    return Snapshot(groups=groups, problems=list(doc.problems))


def _read_parts(parts: Sequence[Chunk | Block], reader: Reader, h: str, name: str, source: str) -> Group:
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
