"""iCalendar bytes -> groups of VEVENTs (one per UID) with a tag each, and the reading of the groups asked for.

A regular file (the quick scan accepts it) is cut at each `BEGIN:VEVENT` line and its events grouped by UID
without being read; any other file goes through the full reader's structure check first. A group's tag is a
digest of everything its reading depends on: its events' bytes (without DTSTAMP when it is one event), where
its events sit relative to its first line, the calendar's time zones, the window and the settings. Not the
line it starts on: a group that only moved is not read again (sync renumbers the stored copy).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import accumulate, repeat
from operator import add

from courtsync.calendars.base import Fetched, Group, RawGroup, Reading, Window
from courtsync.calendars.ics_events import Reader, in_range, read_plain, read_plain_chunk
from courtsync.calendars.ics_scan import Chunk, chunk_block, cut, event_bytes, scan, strip_bom, uids_of
from courtsync.calendars.ics_text import Block, Document, FeedError, read_document
from courtsync.errors import SourceError
from courtsync.models import SourceKind


@dataclass(frozen=True)
class Settings:
    """What reading one iCalendar source depends on besides its bytes."""

    source: str
    name: str
    kind: SourceKind
    window: Window
    case_pattern: str | None


def fetch_ics(data: bytes, settings: Settings) -> Fetched:
    """Bytes of one iCalendar file -> its groups, tagged and unread. SourceError if the file is unusable as a
    whole (HTML, truncated, not iCalendar)."""
    try:
        quick = scan(data, settings.name, settings.source)
        if quick is not None:
            fetched = _quick_groups(quick[0], quick[1], strip_bom(data), settings)
            if fetched is not None:
                return fetched
        doc = read_document(data, settings.name, settings.source)
    except FeedError as exc:
        raise SourceError(str(exc), hint="courtsync keeps the last good copy of this source until it reads "
                                         "again.") from None
    return _block_groups(doc, settings)


def parse_ics(fetched: Fetched, groups: list[RawGroup]) -> dict[str, Group]:
    """The groups asked for, read into items and problems (fetched.context is the Reader fetch_ics left)."""
    context = fetched.context
    if isinstance(context, _Quick):
        return {g.key: _read_parts(context.chunks(g.data), context.reader) for g in groups}
    reader: Reader = context
    return {g.key: _read_parts(g.data, reader) for g in groups}


def read_ics(data: bytes, *, source: str, name: str, kind: SourceKind, window: Window,
             case_pattern: str | None) -> Reading:
    """Fetch and read every group (a first read): for tests and tools."""
    fetched = fetch_ics(data, Settings(source, name, kind, window, case_pattern))
    return Reading(fetched, parse_ics(fetched, fetched.groups))


def _reader(doc: Document, settings: Settings, path: str) -> tuple[Reader, bytes]:
    """How events of this file are read, and the salt of its tags: what a reading depends on besides the
    events' own text (`path`: which reader cut the file, so a file that changes path is read anew)."""
    window = settings.window
    reader = Reader(source=settings.source, name=settings.name, kind=settings.kind, tz=window.tz,
                    window=(window.start, window.end), doc=doc,
                    case_pattern=re.compile(settings.case_pattern) if settings.case_pattern else None)
    salt = "|".join((doc.context(), settings.source, settings.name, settings.kind, window.tz.key,
                     settings.case_pattern or "", window.key(), _READER_VERSION, path))
    return reader, hashlib.blake2b(salt.encode(), digest_size=16).digest()


# A DTSTAMP in its plain form: a readable UTC instant, no parameters. Left out of a one-event group's tag (an
# export that stamps every event with its own time changes no event by that); any other DTSTAMP stays in, since
# the careful reader reports one it cannot read.
_STAMP = re.compile(rb"\nDTSTAMP:(?:19|2[01])\d\d(?:(?:0[1-9]|1[0-2])(?:0[1-9]|1\d|2[0-8])|(?:0[13-9]|1[0-2])(?:29|30)"
                    rb"|(?:0[13578]|1[02])31)T(?:[01]\d|2[0-3])[0-5]\d[0-5]\dZ(?=\r?\n)")   # (no February 29th)


def _quick_groups(doc: Document, parts: list[bytes], body: bytes, settings: Settings) -> Fetched | None:
    """A file the quick scan accepted, its event parts grouped by UID (a group's data: its UID and part numbers); None
    if an event part is not whole (the full reader then decides). Nothing is decoded or copied here, and what is
    done for every event is done by C loops (map, count, findall): a re-read of a 600-event feed takes a few ms."""
    events = parts[1:]
    if -1 in map(bytes.rfind, events, repeat(b"\nEND:VEVENT")):   # (from the end: where it is)
        return None
    reader, salt = _reader(doc, settings, "quick")
    # each BEGIN:VEVENT's line: the lines of the parts before it, and the line break its cut took
    lines = list(accumulate(map(add, map(bytes.count, parts[:-1], repeat(b"\n")), repeat(1)), initial=1))
    lines[0] = 0   # (the header)
    uids = uids_of(events, body, len(parts[0]))
    keys = [uid or f"(no UID {hashlib.blake2b(part, digest_size=8).hexdigest()})"
            for uid, part in zip(uids, events, strict=True)]
    bare = parts if body.find(b"\nDTSTAMP") == -1 else _body_parts(_STAMP.sub(b"\nDTSTAMP", body), len(parts))
    if bare is not None and len(set(keys)) == len(keys):   # one event a group (most files): its bytes without DTSTAMP
        tags = list(map(_tagger(salt), bare[1:]))
        groups = list(map(RawGroup, keys, tags, lines[1:], zip(uids, ([i] for i in range(1, len(parts))), strict=True)))
    else:
        groups = _grouped(keys, uids, parts, bare, lines, salt)
    return Fetched(groups=groups, problems=list(doc.problems), context=_Quick(reader, parts, lines))


def _tagger(salt: bytes) -> Callable[[bytes], str]:
    """The tag of one part's bytes, salted (a copy of one salted hash: cheaper than a keyed hash per part)."""
    salted = hashlib.blake2b(key=salt, digest_size=16)

    def tag(part: bytes) -> str:
        digest = salted.copy()
        digest.update(part)
        return digest.hexdigest()
    return tag


def _grouped(keys: list[str], uids: list[str | None], parts: list[bytes], bare: list[bytes] | None,
             lines: list[int], salt: bytes) -> list[RawGroup]:
    """The event parts grouped by key, in the order each key first appears, each group tagged: a one-event group
    by its bytes without DTSTAMP (when `bare` has them), any other by its events' bytes and their places."""
    members: dict[str, list[int]] = {}
    for i, key in enumerate(keys, 1):
        found = members.get(key)
        if found is None:
            members[key] = [i]
        else:
            found.append(i)
    one, groups = _tagger(salt), []
    for key, numbers in members.items():
        first = lines[numbers[0]]
        if len(numbers) == 1 and bare is not None:
            tag = one(bare[numbers[0]])
        else:
            many = hashlib.blake2b(key=salt, digest_size=16)
            for i in numbers:
                many.update(b"%d\n" % (lines[i] - first))
                many.update(parts[i])
            tag = many.hexdigest()
        groups.append(RawGroup(key, tag, first, (uids[numbers[0] - 1], numbers)))
    return groups


@dataclass(frozen=True)
class _Quick:
    """What parsing a quick-cut file's groups needs: the reader, the parts and the line each part starts on."""

    reader: Reader
    parts: list[bytes]
    lines: list[int]

    def chunks(self, data: tuple[str | None, list[int]]) -> list[Chunk]:
        uid, numbers = data
        out = []
        for i in numbers:
            raw = event_bytes(self.parts[i])
            assert raw is not None   # the part was seen to end its VEVENT
            out.append(Chunk(uid, i, raw, self.lines[i]))
        return out


def _body_parts(bare: bytes, count: int) -> list[bytes] | None:
    """The file without its DTSTAMP values, cut as the file was; None if it does not cut the same."""
    parts = cut(bare)
    return parts if len(parts) == count else None


def _plain_stamp(raw: str) -> bool:
    """A DTSTAMP line in its plain form (what _STAMP leaves out of a tag)."""
    line = b"\n" + raw.encode()
    found = _STAMP.match(line + b"\n")
    return found is not None and found.end() == len(line)


def _block_groups(doc: Document, settings: Settings) -> Fetched:
    """A file only the full reader takes: its VEVENT blocks grouped by UID and tagged."""
    reader, salt = _reader(doc, settings, "full")
    members: dict[str, list[Block]] = {}
    for block in doc.events:
        key = block.uid or f"(no UID {hashlib.blake2b(block.text().encode(), digest_size=8).hexdigest()})"
        members.setdefault(key, []).append(block)
    groups = []
    for key, blocks in members.items():
        first = blocks[0].number
        tag = hashlib.blake2b(key=salt, digest_size=16)
        for block in blocks:
            for line in block.lines:
                text = "DTSTAMP" if len(blocks) == 1 and line.name == "DTSTAMP" and _plain_stamp(line.raw) else line.raw
                tag.update(f"{line.number - first}:{text}\n".encode())
            for problem in block.problems:   # lines that are not properties: where, and their text
                where = problem.location.rpartition(":")[2]
                tag.update(f"!{int(where) - first if where.isdigit() else where}:{problem.reason}\n".encode())
        groups.append(RawGroup(key, tag.hexdigest(), first, blocks))
    return Fetched(groups=groups, problems=list(doc.problems), context=reader)


def _read_parts(parts: Sequence[Chunk | Block], reader: Reader) -> Group:
    if len(parts) == 1 and isinstance(parts[0], Chunk) and parts[0].uid:
        try:
            fast = read_plain_chunk(parts[0].raw, parts[0].line, reader)
        except (ValueError, OverflowError):
            fast = None
        if fast is not None:
            return Group(items=fast[0], problems=fast[1])
    blocks = [p if isinstance(p, Block) else chunk_block(p, reader.name, reader.source) for p in parts]
    group = _read_group(blocks, reader)
    line_problems = [p for b in blocks for p in b.problems]
    if line_problems:
        group.problems = line_problems + group.problems
    return group


def _read_group(blocks: list[Block], reader: Reader) -> Group:
    if len(blocks) == 1 and blocks[0].uid:
        try:
            fast = read_plain(blocks[0], reader)
        except (ValueError, OverflowError):  # an odd value: the careful reader reports it properly
            fast = None
        if fast is not None:
            return Group(items=fast[0], problems=fast[1])
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
    return Group(items=items, problems=problems)


# Raise when the reading of events changes, so stored groups are read again.
_READER_VERSION = "10"
