"""A feed cut at its events, and what the last read of it left: how a re-read finds what changed.

A file that the quick scan accepts is split at every line `BEGIN:VEVENT`: part 0 is the header
(calendar properties, VTIMEZONEs), part i the i-th event and whatever follows it up to the next one.
Every part is digested (BLAKE2b, 128 bits). The digests, each part's group key (its UID) and the line
each event starts on are kept in the store as a `PartIndex`. The next read of the same feed cuts and
digests again and reads only the events whose part is new, and the groups that lost a part.

A feed found restamping every event's DTSTAMP at each export is digested without its DTSTAMP lines
from then on (`stamped`), so that churn is not a change.

Parts that are byte for byte as before passed the checks before and are not looked at again. A new
part is checked on its own the way the quick scan checks a whole file (components closed in order,
known kinds, upper case, CRLF or LF, no calendar or time-zone components); a new header must still
open the calendar and define the same time zones. Anything else sends the file back to the
whole-file reader, so a diff never accepts what a first read would refuse.
"""

from __future__ import annotations

import hashlib
import re
import sys
import zlib
from array import array
from dataclasses import dataclass
from itertools import accumulate, repeat
from operator import add

from courtsync.calendars.ics_text import KNOWN_COMPONENTS, component_lines, cut

# The layout, and this machine's byte order (the lines are stored as native integers).
_MAGIC = f"courtsync-parts-4-{sys.byteorder}\n".encode()
_DIGEST = 16
# Components a new event part may hold: the calendar and its time zones belong to the header.
_IN_EVENT_PART = KNOWN_COMPONENTS - {b"VCALENDAR", b"VTIMEZONE", b"STANDARD", b"DAYLIGHT"}


@dataclass
class PartIndex:
    """What one read of a feed left: per part, its digest, group key and first line."""

    salt: str            # what the readings depend on besides the bytes (time zones, window, ...): 32 hex digits
    digests: list[bytes]
    keys: list[str]      # "" for the header
    lines: list[int]     # the line of the part's BEGIN:VEVENT (0 for the header)
    stamped: bool = False   # digests taken without DTSTAMP lines (a feed that restamps every event)

    def encode(self) -> bytes | None:
        """The index as stored: salt, part count, the keys (compressed), the lines, the digests. None when
        it cannot be kept (a key with a line break)."""
        if any("\n" in key for key in self.keys) or len(self.salt) != 32:
            return None
        keys = zlib.compress("\n".join(self.keys).encode(), 1)
        return b"".join((_MAGIC, b"S" if self.stamped else b"-", self.salt.encode(), len(self.keys).to_bytes(4, "big"),
                         len(keys).to_bytes(4, "big"), keys, array("i", self.lines).tobytes(), *self.digests))

    @classmethod
    def decode(cls, blob: bytes | None) -> PartIndex | None:
        """None for anything but a whole, current index (then the feed is simply read in full)."""
        if not blob or not blob.startswith(_MAGIC):
            return None
        try:
            stamped = blob[len(_MAGIC):len(_MAGIC) + 1] == b"S"
            at = len(_MAGIC) + 1
            salt = blob[at:at + 32].decode("ascii")
            count = int.from_bytes(blob[at + 32:at + 36], "big")
            size = int.from_bytes(blob[at + 36:at + 40], "big")
            at += 40
            keys = zlib.decompress(blob[at:at + size]).decode().split("\n")
            at += size
            lines = array("i", blob[at:at + 4 * count]).tolist()
            at += 4 * count
            ends = range(at + _DIGEST, len(blob) + _DIGEST, _DIGEST)
            digests = list(map(blob.__getitem__, map(slice, range(at, len(blob), _DIGEST), ends)))
        except (ValueError, UnicodeDecodeError, zlib.error):
            return None
        if not (len(digests) == len(keys) == len(lines) == count) or (len(blob) - at) % _DIGEST:
            return None
        return cls(salt, digests, keys, lines, stamped)


def digest_all(parts: list[bytes]) -> list[bytes]:
    blake2b = hashlib.blake2b
    return [blake2b(p, digest_size=_DIGEST).digest() for p in parts]


_STAMP = re.compile(rb"\nDTSTAMP[;:][^\n]*")


def digest_parts(body: bytes, parts: list[bytes], stamped: bool) -> list[bytes] | None:
    """Each part's digest; with `stamped`, of the part without its DTSTAMP line (an export that stamps every
    event with the time of export changes no event by that). None if the two cuts disagree."""
    if not stamped:
        return digest_all(parts)
    bare = cut(_STAMP.sub(b"", body))
    return digest_all(bare) if len(bare) == len(parts) else None


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
