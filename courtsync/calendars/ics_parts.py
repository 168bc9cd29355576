"""A feed cut at its events, and what the last read of it left: how a re-read finds what changed.

A file that the quick scan accepts is split at every line `BEGIN:VEVENT`: part 0 is the header
(calendar properties, VTIMEZONEs), part i the i-th event and whatever follows it up to the next one.
Every part is digested (BLAKE2b, 128 bits). The digests, each part's group key (its UID) and the line
each event starts on are kept in the store as a `PartIndex`. The next read of the same feed cuts and
digests again and reads only the events whose part is new, and the groups that lost a part.

Parts that are byte for byte as before passed the checks before and are not looked at again. A new
part is checked on its own the way the quick scan checks a whole file (components closed in order,
known kinds, upper case, CRLF or LF, no calendar or time-zone components); a new header must still
open the calendar and define the same time zones. Anything else sends the file back to the
whole-file reader, so a diff never accepts what a first read would refuse.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from dataclasses import dataclass, field
from itertools import accumulate, repeat
from operator import add

from courtsync.calendars.ics_text import KNOWN_COMPONENTS, component_lines

SEP = b"\nBEGIN:VEVENT"
_MAGIC = b"courtsync-parts-2\n"
_DIGEST = 16
# Components a new event part may hold: the calendar and its time zones belong to the header.
_IN_EVENT_PART = KNOWN_COMPONENTS - {b"VCALENDAR", b"VTIMEZONE", b"STANDARD", b"DAYLIGHT"}


@dataclass
class PartIndex:
    """What one read of a feed left: per part, its digest, group key and first line."""

    salt: str            # what the readings depend on besides the bytes (time zones, window, ...)
    digests: list[bytes]
    keys: list[str]      # "" for the header
    lines: list[int]     # the line of the part's BEGIN:VEVENT (0 for the header)

    meta: bytes | None = field(default=None, repr=False, compare=False)   # as decoded, to reuse

    def encode(self, reuse: PartIndex | None = None) -> bytes:
        """The index as stored; the keys and lines of `reuse` are not encoded again when they are the same."""
        if reuse is not None and reuse.meta is not None and (reuse.salt, reuse.keys, reuse.lines) == \
                (self.salt, self.keys, self.lines):
            meta = reuse.meta
        else:
            meta = zlib.compress(json.dumps({"salt": self.salt, "keys": self.keys, "lines": self.lines},
                                            separators=(",", ":")).encode(), 1)
        return _MAGIC + len(meta).to_bytes(4, "big") + meta + b"".join(self.digests)

    @classmethod
    def decode(cls, blob: bytes | None) -> PartIndex | None:
        """None for anything but a whole, current index (then the feed is simply read in full)."""
        if not blob or not blob.startswith(_MAGIC):
            return None
        try:
            at = len(_MAGIC)
            size = int.from_bytes(blob[at:at + 4], "big")
            packed = blob[at + 4:at + 4 + size]
            meta = json.loads(zlib.decompress(packed))
            raw = blob[at + 4 + size:]
            digests = [raw[i:i + _DIGEST] for i in range(0, len(raw), _DIGEST)]
            keys, lines = meta["keys"], meta["lines"]
            if not (isinstance(meta["salt"], str) and all(isinstance(k, str) for k in keys)
                    and all(type(n) is int for n in lines)):
                return None
            index = cls(meta["salt"], digests, keys, lines, packed)
        except (ValueError, KeyError, TypeError, zlib.error):
            return None
        if not (len(index.digests) == len(index.keys) == len(index.lines)) or len(raw) % _DIGEST:
            return None
        return index


def cut(body: bytes) -> list[bytes]:
    return body.split(SEP)


def digest_all(parts: list[bytes]) -> list[bytes]:
    blake2b = hashlib.blake2b
    return [blake2b(p, digest_size=_DIGEST).digest() for p in parts]


def begin_lines(parts: list[bytes]) -> list[int]:
    """The line of each event part's BEGIN:VEVENT (1-based; 0 for the header)."""
    newlines = list(accumulate(map(bytes.count, parts, repeat(b"\n"))))
    return [0, *map(add, newlines, range(2, len(parts) + 1))]   # part i: 1 + newlines before it + i separators


def event_bytes(part: bytes) -> bytes | None:
    """The raw VEVENT of an event part (BEGIN:VEVENT to END:VEVENT); None if it never ends."""
    stop = part.find(b"\nEND:VEVENT")
    if stop == -1:
        return None
    end = part.find(b"\n", stop + 1)
    return b"BEGIN:VEVENT" + (part[:end] if end != -1 else part).rstrip(b"\r")


def event_part_ok(part: bytes, last: bool) -> bool:
    """A new event part holds one whole VEVENT (and, after it, only whole components of known kinds);
    the last part ends the calendar."""
    if not part.startswith((b"\r\n", b"\n")):
        return False   # the separator was not a whole `BEGIN:VEVENT` line
    if last:
        body = part.rstrip()
        if not body.endswith(b"\nEND:VCALENDAR"):
            return False   # cut off, or something after the calendar
        part = body[:-len(b"END:VCALENDAR")]
    return _nested_ok(part, [b"VEVENT"], _IN_EVENT_PART) and b"X-WR-TIMEZONE" not in part.upper()


def header_ok(header: bytes) -> bool:
    """A new header still opens the calendar and closes whatever else it opens."""
    first = header.lstrip().split(b"\n", 1)[0].strip()
    if first != b"BEGIN:VCALENDAR":
        return False
    rest = header.lstrip()[len(first):]
    return _nested_ok(rest, [b"VCALENDAR"], KNOWN_COMPONENTS - {b"VCALENDAR", b"VEVENT"}, open_at_end=1)


def _nested_ok(text: bytes, stack: list[bytes], allowed: set[bytes], open_at_end: int = 0) -> bool:
    if text.count(b"\r") != text.count(b"\r\n") + text.endswith(b"\r"):
        return False   # a lone CR line end: the whole-file reader normalises it (a part's last CR is
        # followed by the next part's newline)
    lines = component_lines(text)
    if lines is None:
        return False
    for verb, kind in lines:
        if verb == b"BEGIN":
            if kind not in allowed:
                return False
            stack.append(kind)
        elif not stack or stack.pop() != kind:
            return False
    return len(stack) == open_at_end


def salt_of(*parts: str) -> str:
    return hashlib.blake2b("|".join(parts).encode(), digest_size=16).hexdigest()
