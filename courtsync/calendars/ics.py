"""iCalendar bytes -> groups of items, re-reading only the events whose bytes changed."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from itertools import compress, repeat
from operator import ne

from courtsync.calendars.base import Group, Snapshot, Window
from courtsync.calendars.ics_events import Reader, in_range, read_plain, read_plain_chunk
from courtsync.calendars.ics_parts import (
    PartIndex,
    begin_lines,
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
    cut,
    is_utf8,
    read_document,
    scan,
    strip_bom,
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
            snap = _read_all_parts(quick[0], quick[1], strip_bom(data), stamped, *settings)
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
        chunk = _event_chunk(parts, i, lines)
        if chunk is None:
            return None
        keys.append(chunk.uid or _no_uid_key(digests[i]))
        members.setdefault(keys[-1], []).append(chunk)
    groups = {key: _read_parts(chunks, reader, "", name, source) for key, chunks in members.items()}
    # Kept only when the header alone says how events read (time zones declared up front), so that a
    # re-read can trust it; other files are read in full each time they change.
    index = PartIndex(salt, digests, keys, lines, stamped).encode() \
        if doc.calendars == 1 and _header_doc(name, parts[0]).context() == doc.context() else None
    return Snapshot(groups=groups, problems=list(doc.problems), index=index)


def _event_chunk(parts: list[bytes], i: int, lines: list[int]) -> Chunk | None:
    raw = event_bytes(parts[i])
    return Chunk(uid_of(raw), i, raw, lines[i]) if raw is not None else None


def _header_doc(name: str, header: bytes) -> Document:
    """What the header part says about how events read (its X-WR-TIMEZONE and VTIMEZONEs)."""
    doc = Document(name=name, calendars=1)
    add_context(doc, header)
    return doc


def _read_changes(data: bytes, index: PartIndex, source: str, name: str, kind: SourceKind, window: Window,
                  case_pattern: str | None) -> tuple[Snapshot | None, bool]:
    """Read only the events whose parts are new since `index`. (None, restamped) when the file must be read
    whole; restamped: most events changed and the file has DTSTAMPs, so perhaps only those changed."""
    body = strip_bom(data)
    try:
        check_head(body, name)
    except FeedError:
        return None, False
    parts = cut(body)
    digests = digest_parts(body, parts, index.stamped) if is_utf8(body) else None
    where = dict(zip(index.digests, range(len(index.digests)), strict=True))
    if digests is None or len(parts) < 2 or len(set(digests)) != len(digests) or len(where) != len(index.digests):
        return None, False   # not UTF-8, no events, or the same bytes twice: counted properly by the whole read
    if digests[0] != index.digests[0] and not header_ok(parts[0]):
        return None, False
    reader, salt = _reader(_header_doc(name, parts[0]), source, name, kind, window, case_pattern)
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
    for i in new:
        chunk = _event_chunk(parts, i, lines)
        assert chunk is not None   # event_part_ok saw it end
        keys[i] = chunk.uid or _no_uid_key(digests[i])
    changed, shifted, members = _what_changed(index, before, keys, lines, new)
    groups: dict[str, Group] = {}
    for key in changed & members.keys():
        chunks = [_event_chunk(parts, i, lines) for i in members[key]]
        if None in chunks:
            return None, False
        groups[key] = _read_parts([c for c in chunks if c is not None], reader, "", name, source)
    return Snapshot(groups=groups, partial=True, removed=sorted(changed - members.keys()), shifted=shifted,
                    kept=len(set(keys[1:])) - len(groups),
                    index=PartIndex(salt, digests, keys, lines, index.stamped).encode()), False


def _what_changed(index: PartIndex, before: list[int], keys: list[str], lines: list[int],
                  new: list[int]) -> tuple[set[str], dict[str, int], dict[str, list[int]]]:
    """The groups to read again (a new part, a lost part, or parts that moved apart), the unchanged groups
    whose lines all moved by one amount, and each such group's parts in the new file."""
    changed = {keys[i] for i in new}
    changed.update(index.keys[j] for j in set(range(1, len(index.keys))).difference(before))
    moves: dict[str, list[int]] = {}
    old_lines = list(map(index.lines.__getitem__, before))
    for i in compress(range(len(keys)), map(ne, lines, old_lines)):
        if i and before[i] != -1:
            moves.setdefault(keys[i], []).append(lines[i] - old_lines[i])
    members: dict[str, list[int]] = {}
    wanted = changed | moves.keys()
    for i in compress(range(len(keys)), map(wanted.__contains__, keys)) if wanted else ():
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
    return changed, shifted, members


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
    except OverflowError:   # a value the checks let through that still leaves the range of datetime
        items, problems = [], [reader.problem(blocks[0].number, "a date or duration of this event is out of range; "
                                                                "event skipped (ask the court to correct it)")]
    except Exception as exc:  # a defect of ours or of a library: report it, keep the rest of the file
        items, problems = [], [reader.problem(blocks[0].number, f"internal error reading this event "
                                                                f"({type(exc).__name__}); please report it")]
    if any(not in_range(i.start) or (i.end is not None and not in_range(i.end)) for i in items):
        # A start or end the line checks could not see (a long DURATION on a late start): one problem, never
        # a value that overflows when converted later.
        lines = sorted({i.line for i in items if not in_range(i.start) or (i.end is not None and not in_range(i.end))})
        items = [i for i in items if in_range(i.start) and (i.end is None or in_range(i.end))]
        problems += [reader.problem(n, "a start or end of this event is outside 1900–2200; those instances are "
                                       "skipped") for n in lines]
    for b in blocks:
        if not b.uid:
            problems.append(reader.problem(b.number, "event has no UID; read anyway, but a change to it "
                                                     "will look like a new event"))
    return Group(hash=h, items=items, problems=problems)


# Raise when the reading of events changes, so stored groups are read again.
_READER_VERSION = "9"
