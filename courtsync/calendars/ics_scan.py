"""The quick scan: a well-formed UTF-8 file cut into raw VEVENT parts at each `BEGIN:VEVENT` line without
reading them, its UIDs found at the byte level; anything unusual goes to the full structure reader (ics_text)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from itertools import repeat
from operator import itemgetter

from courtsync.calendars.ics_text import Block, Document, Line, check_head, decode, split_line
from courtsync.models import Problem

# A BEGIN:/END: line, found after its line break (a literal to look for: several times faster than `^` with
# re.M); the text is searched with a line break put in front.
_COMPONENT = re.compile(rb"\n(BEGIN|END):([A-Z0-9-]+)\r?(?=\n|\Z)")
_ZONE = re.compile(rb"^BEGIN:VTIMEZONE[ \t]*\r?\n.*?^END:VTIMEZONE[ \t]*\r?$", re.M | re.S | re.I)
_UID = re.compile(rb"^UID(?:;[^:\r\n]*)?:([^\r\n]*(?:\r?\n[ \t][^\r\n]*)*)", re.M | re.I)
_NESTED = re.compile(rb"^BEGIN:(?!VEVENT)[A-Za-z0-9-]+.*?^END:[A-Za-z0-9-]+[ \t]*\r?$", re.M | re.S | re.I)
_XWR = re.compile(rb"^X-WR-TIMEZONE[^:\r\n]*:([^\r\n]*)", re.M | re.I)
FOLD = re.compile(rb"\r?\n[ \t]")
KNOWN_COMPONENTS = {b"VCALENDAR", b"VEVENT", b"VTIMEZONE", b"STANDARD", b"DAYLIGHT", b"VALARM", b"VTODO",
                    b"VJOURNAL", b"VFREEBUSY", b"VAVAILABILITY", b"AVAILABLE", b"VLOCATION", b"VRESOURCE",
                    b"PARTICIPANT"}


@dataclass(slots=True)
class Chunk:
    """One VEVENT's raw bytes, its place in the file (part number, then line), and its UID."""

    uid: str | None
    offset: int
    raw: bytes
    line: int = 0


def component_lines(text: bytes) -> list[tuple[bytes, bytes]] | None:
    """Every BEGIN:/END: line of `text` as (verb, kind), in order; None when some such line is not in
    the plain form (lower case, trailing blanks) or `BEGIN:` appears inside a value."""
    found = _COMPONENT.findall(b"\n" + text)
    begins = list(map(itemgetter(0), found)).count(b"BEGIN")
    ends = text.count(b"\nEND:") + text.startswith(b"END:")
    upper = text.upper()
    if upper.count(b"\nBEGIN:") != text.count(b"\nBEGIN:") or upper.count(b"\nEND:") != text.count(b"\nEND:"):
        return None
    if text.count(b"BEGIN:") != begins or ends != len(found) - begins:
        return None
    return found


def add_context(doc: Document, text: bytes) -> None:
    """The calendar's X-WR-TIMEZONE (the first) and VTIMEZONEs found in `text`, onto `doc`."""
    xwr = _XWR.search(text) if doc.x_wr_timezone is None and text.find(b"X-WR-TIMEZONE") != -1 else None
    if xwr:
        doc.x_wr_timezone = xwr.group(1).decode().strip()
    for zone in (_ZONE.finditer(text) if text.find(b"BEGIN:VTIMEZONE") != -1 else ()):
        lines = FOLD.sub(b"", zone.group(0)).decode().splitlines()
        tzid = next((t.split(":", 1)[1].strip() for t in lines if t.upper().startswith("TZID")), "")
        doc.timezones[tzid] = "\r\n".join(t for t in lines if t.strip())


EVENT_SEP = b"\nBEGIN:VEVENT"


def cut(body: bytes) -> list[bytes]:
    """The file cut at each `BEGIN:VEVENT` line: the header, then each event with what follows it."""
    return body.split(EVENT_SEP)


def event_bytes(part: bytes) -> bytes | None:
    """The raw VEVENT of an event part (BEGIN:VEVENT to END:VEVENT); None if it never ends."""
    stop = part.find(b"\nEND:VEVENT")
    if stop == -1:
        return None
    end = part.find(b"\n", stop + 1)
    return b"BEGIN:VEVENT" + (part[:end] if end != -1 else part).rstrip(b"\r")


def plain_components(body: bytes, parts: list[bytes]) -> Counter[tuple[bytes, bytes]] | None:
    """What component_lines(body) would find, counted, when every event is plain: in the text from the first
    cut to the end of the last event, the only BEGIN: are the cuts' BEGIN:VEVENT lines and the only component
    ends their END:VEVENT lines, all in upper case and in their plain form. Then only the header and what
    follows the last event are searched (a few lines, where a whole feed's search costs milliseconds); None
    when an event is not plain (the caller then searches the whole text)."""
    events = len(parts) - 1
    last = parts[-1]
    stop = last.find(b"\nEND:VEVENT")
    after = last.find(b"\n", stop + 1) if stop != -1 else -1
    if events == 0 or after == -1:
        return None
    tail = last[after:]
    start, end = len(parts[0]), len(body) - len(tail)   # the events: from the first cut's line break on
    count = body.count
    if (count(b"BEGIN:", start, end) != events or count(b"\nEND:", start, end) != events
            or count(b"\nBEGIN:VEVENT\r\n", start, end) + count(b"\nBEGIN:VEVENT\n", start, end) != events
            or count(b"\nEND:VEVENT\r\n", start, end + 1) + count(b"\nEND:VEVENT\n", start, end + 1) != events):
        return None
    upper = body[start:end].upper()   # a component line in lower or mixed case
    if upper.count(b"\nBEGIN:") != events or upper.count(b"\nEND:") != events:
        return None
    found = component_lines(parts[0] + tail)
    if found is None:
        return None
    counts = Counter(found)
    counts[(b"BEGIN", b"VEVENT")] += events
    counts[(b"END", b"VEVENT")] += events
    return counts


def strip_bom(data: bytes) -> bytes:
    return data[3:] if data.startswith(b"\xef\xbb\xbf") else data


def is_utf8(body: bytes) -> bool:
    if body.isascii():
        return True
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def scan(data: bytes, name: str, source: str) -> tuple[Document, list[bytes]] | None:
    """A quick check of a regular file, cut into parts at each `BEGIN:VEVENT` line; None when anything
    is unusual (the full reader then decides)."""
    check_head(data, name)
    body = strip_bom(data)
    if not is_utf8(body):
        return None
    if body.count(b"\r") != body.count(b"\r\n"):
        return None  # lone CR line ends: the full reader normalises them
    parts = cut(body)
    counts = plain_components(body, parts)
    if counts is None:
        found = component_lines(body)
        if found is None:
            return None  # lower-case component lines, or BEGIN: inside a text value: the full reader handles them
        counts = Counter(found)
    opened = {kind: n for (verb, kind), n in counts.items() if verb == b"BEGIN"}
    closed = {kind: n for (verb, kind), n in counts.items() if verb == b"END"}
    if opened != closed or not set(opened) <= KNOWN_COMPONENTS:
        return None  # unbalanced or unknown
    tail = body.rstrip().rsplit(b"\n", 1)[-1].strip().upper()
    first = body.lstrip().split(b"\n", 1)[0].strip().upper()
    if tail != b"END:VCALENDAR" or first != b"BEGIN:VCALENDAR":
        return None
    if len(parts) - 1 != opened.get(b"VEVENT", 0):
        return None  # indented component lines: the full reader handles them
    doc = Document(name=name, calendars=opened.get(b"VCALENDAR", 0))
    add_context(doc, body)
    return doc, parts


def uid_of(raw: bytes) -> str | None:
    """The UID of one raw VEVENT (not of a VALARM inside it); folded values unfolded."""
    if raw.find(b"BEGIN:", 6) != -1:
        found = _UID.search(_NESTED.sub(b"", raw[1:]))
        return FOLD.sub(b"", found.group(1)).decode().strip() if found else None
    at = raw.find(b"\nUID")
    if at == -1 or raw[at + 4:at + 5] not in (b":", b";"):
        found = _UID.search(raw)   # lower-case name, or a name starting with UID (UID-X): the slow way
        return FOLD.sub(b"", found.group(1)).decode().strip() if found else None
    colon = raw.find(b":", at + 4)
    end = raw.find(b"\n", at + 4)
    while end != -1 and raw[end + 1:end + 2] in (b" ", b"\t"):
        end = raw.find(b"\n", end + 1)
    value = raw[colon + 1: end if end != -1 else len(raw)]
    if b"\n" in value:
        value = FOLD.sub(b"", value)
    return value.decode().strip() or None


_UID_PLAIN = re.compile(rb"\nUID:([^\n]*)(?=\n[^ \t])")   # a UID line not folded onto the next one


def uids_of(events: list[bytes], body: bytes, start: int) -> list[str | None]:
    """uid_of of each event part (`events`: the parts of `body` after its header, which ends at `start`), found
    with one search of the body when every part is plain: no component inside it, one line that starts with UID,
    in the form `UID:value`, not folded. Otherwise part by part."""
    # (no BEGIN: but the cuts' own; each part has a UID line and there are as many as parts: one each; each
    # of those in the form `UID:value` and not folded, or the search finds fewer)
    if (body.count(b"BEGIN:", start) == len(events) and body.count(b"\nUID", start) == len(events)
            and -1 not in map(bytes.find, events, repeat(b"\nUID"))):
        values = _UID_PLAIN.findall(body, start)
        if len(values) == len(events):
            return [value.decode().strip() or None for value in values]
    return [uid_of(part) for part in events]


def chunk_block(chunk: Chunk, name: str, source: str) -> Block:
    """Read one chunk's lines (numbered as in the whole file) into a Block."""
    lines, _ = decode(chunk.raw, name, source)
    block = Block(number=chunk.line, lines=[], uid=chunk.uid)
    for number, raw in lines:
        parts = split_line(raw)
        number += chunk.line - 1
        if parts is None:
            block.problems.append(Problem(source, f"{name}:{number}",
                                          f"not a property line ({raw[:40]!r}); line ignored, the event kept"))
            continue
        block.lines.append(Line(number, parts[0], parts[1], parts[2], raw))
    return block
