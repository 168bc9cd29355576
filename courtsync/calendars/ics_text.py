"""iCalendar bytes -> checked structure: decoded, unfolded lines with their line numbers, VEVENT blocks.

Everything that makes a whole file unreadable (HTML, truncation, not iCalendar at all) is found
here and raised as FeedError, so a broken download never reads as an empty calendar. Anything
that spoils only one line or one event is left for the event readers to report.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from courtsync.models import Problem


class FeedError(ValueError):
    """The whole file cannot be read; the message says why and how to fix it."""


@dataclass
class Line:
    number: int          # physical line number (1-based) where this logical line starts
    name: str            # property name, upper-cased ("" for a line without a colon)
    params: str          # raw parameter text after the name, ';...' (may be "")
    value: str
    raw: str             # the whole unfolded line as decoded


@dataclass
class Block:
    """One VEVENT with everything inside it (VALARMs included), in file order."""

    number: int
    lines: list[Line]
    uid: str | None = None
    problems: list[Problem] = field(default_factory=list)   # lines inside it that could not be read

    def text(self) -> str:
        return "\r\n".join(line.raw for line in self.lines)

    def has(self, *names: str) -> bool:
        return any(line.name in names for line in self.lines)


@dataclass
class Document:
    name: str
    events: list[Block] = field(default_factory=list)
    timezones: dict[str, str] = field(default_factory=dict)   # TZID -> VTIMEZONE text
    x_wr_timezone: str | None = None
    problems: list[Problem] = field(default_factory=list)
    calendars: int = 0

    def context(self) -> str:
        """What every event's reading depends on besides its own lines."""
        parts = [self.x_wr_timezone or ""] + [self.timezones[k] for k in sorted(self.timezones)]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()


# Possessive and with ';' outside the inner class: each ';' starts the next parameter, so a line of many
# ';' and no ':' fails in linear time (the older form backtracked exponentially: 30 ';' took minutes).
_LINE = re.compile(r'([A-Za-z0-9-]+)((?:;(?:[^";:]|"[^"]*")*+)*+):(.*)', re.S)


# Parameters as RFC 5545 3.2 writes them, no control characters (possessive: linear on any line). icalendar
# fails a whole event on a parameter without '=' ('X-A;b;c:v') and drops a line with a control character in
# a parameter (the fuzzer found both), so such a line is reported and dropped before it gets there.
_SAFE = r'[^";:,\x00-\x08\x0a-\x1f\x7f]'
_QSAFE = r'"[^"\x00-\x08\x0a-\x1f\x7f]*+"'
PARAMS = re.compile(rf'(?:;[A-Za-z0-9_-]++=(?:{_QSAFE}|{_SAFE}*+)(?:,(?:{_QSAFE}|{_SAFE}*+))*+)*+')

def split_line(raw: str) -> tuple[str, str, str] | None:
    """'NAME;P=1;Q="a:b":value' -> (NAME, ';P=1;Q="a:b"', value); None if there is no colon."""
    m = _LINE.match(raw)
    if m is None:
        return None
    return m.group(1).upper(), m.group(2), m.group(3)


def decode(data: bytes, name: str, source: str) -> tuple[list[tuple[int, str]], list[Problem]]:
    """Bytes -> (line number, unfolded text) pairs; folds are undone before decoding (RFC 5545 §3.1)."""
    problems: list[Problem] = []
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        data = data.decode("utf-16").encode("utf-8")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    logical: list[tuple[int, bytes]] = []
    for number, physical in enumerate(data.split(b"\n"), 1):
        if physical[:1] in (b" ", b"\t") and logical:
            start, text = logical[-1]
            logical[-1] = (start, text + physical[1:])
        elif physical.strip():
            logical.append((number, physical))
    joined = b"\n".join(text for _, text in logical)
    try:
        joined.decode("utf-8")
        encoding = "utf-8"
    except UnicodeDecodeError as exc:
        encoding = "cp1252"
        bad_line = next((n for n, t in logical if _bad_utf8(t)), 0)
        problems.append(Problem(source, f"{name}:{bad_line}",
                                f"not UTF-8 (byte {exc.object[exc.start]:#04x}); read as Windows-1252. "
                                "Ask the publisher to export UTF-8."))
    return [(n, t.decode(encoding, errors="replace")) for n, t in logical], problems


def _bad_utf8(text: bytes) -> bool:
    try:
        text.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def check_head(data: bytes, name: str) -> None:
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:200].lower()
    if not head:
        raise FeedError(f"{name} is empty: no BEGIN:VCALENDAR (an empty download is never read as "
                        "'no hearings')")
    if head.startswith((b"<", b"<!doctype", b"<html")) or b"<html" in head:
        raise FeedError(f"{name} returned HTML, not a calendar (a login or error page?); check the URL "
                        "and whether it needs a token")


def read_document(data: bytes, name: str, source: str) -> Document:
    """Check the structure and cut the file into VEVENT blocks; FeedError when the file is unusable."""
    check_head(data, name)
    lines, problems = decode(data, name, source)
    doc = Document(name=name, problems=problems)
    if not lines or lines[0][1].strip().upper() != "BEGIN:VCALENDAR":
        raise FeedError(f"{name}:{lines[0][0] if lines else 1}: not an iCalendar file (it must start with "
                        "BEGIN:VCALENDAR)")
    stack: list[tuple[str, int]] = []
    block: Block | None = None
    tz_lines: list[str] | None = None
    for number, raw in lines:
        parts = split_line(raw)
        if parts is None:
            if block is not None:
                block.problems.append(Problem(source, f"{name}:{number}",
                                              f"not a property line ({raw[:40]!r}); line ignored, the event kept"))
            else:
                problems.append(Problem(source, f"{name}:{number}", f"not a property line ({raw[:40]!r}); ignored"))
            continue
        pname, params, value = parts
        line = Line(number, pname, params, value, raw)
        if pname == "BEGIN":
            block, tz_lines = _begin(doc, stack, block, tz_lines, line, source)
        elif pname == "END":
            closed, block, tz_lines = _end(doc, stack, block, tz_lines, line, source)
            if not closed:
                continue
        elif len(stack) == 1 and pname == "X-WR-TIMEZONE":
            doc.x_wr_timezone = value.strip()
        block, tz_lines = _collect(doc, stack, block, tz_lines, line)
    if stack:
        kind, number = stack[-1]
        raise FeedError(f"{name}: truncated: the {kind} opened on line {number} never ends (no END:{kind}); "
                        "the download was cut off or the file is incomplete")
    return doc


_TOP_LEVEL = {"VEVENT", "VTIMEZONE", "VTODO", "VJOURNAL", "VFREEBUSY"}


def _begin(doc: Document, stack: list[tuple[str, int]], block: Block | None, tz_lines: list[str] | None, line: Line,
           source: str) -> tuple[Block | None, list[str] | None]:
    """A BEGIN: line: the component opened (an event's block or a zone's lines begun at calendar level)."""
    kind, number, name = line.value.strip().upper(), line.number, doc.name
    if kind in _TOP_LEVEL and len(stack) > 1:
        # A VEVENT or VTIMEZONE lives only directly in the calendar: whatever is still open ended
        # without its END line. Close it here, or every later event would vanish inside it.
        block, tz_lines = _close_to_calendar(stack, block, tz_lines, number, kind, name, source, doc.problems)
    if not stack and kind != "VCALENDAR":
        raise FeedError(f"{name}:{number}: BEGIN:{kind} outside any VCALENDAR")
    if kind == "VCALENDAR":
        if stack:
            raise FeedError(f"{name}:{number}: BEGIN:VCALENDAR inside another component "
                            f"(the {stack[-1][0]} opened on line {stack[-1][1]} never ended)")
        doc.calendars += 1
    stack.append((kind, number))
    if kind == "VEVENT" and len(stack) == 2:
        block = Block(number=number, lines=[])
    elif kind == "VTIMEZONE" and len(stack) == 2:
        tz_lines = []
    return block, tz_lines


def _end(doc: Document, stack: list[tuple[str, int]], block: Block | None, tz_lines: list[str] | None, line: Line,
         source: str) -> tuple[bool, Block | None, list[str] | None]:
    """An END: line: (whether it closed something, the block and zone lines still being read)."""
    kind, name = line.value.strip().upper(), doc.name
    if kind not in [k for k, _ in stack]:
        doc.problems.append(Problem(source, f"{name}:{line.number}", f"END:{kind} closes nothing that is open; "
                                                                     "line ignored"))
        return False, block, tz_lines
    while stack[-1][0] != kind:
        # A component left open inside another (END:VTOOD for END:VTODO, say): close it here. A
        # VEVENT closed this way may be incomplete, so it is dropped rather than guessed at.
        unclosed, opened_at = stack.pop()
        doc.problems.append(Problem(source, f"{name}:{opened_at}", f"{unclosed} opened here is never closed"
                                    + ("; this event is skipped" if unclosed == "VEVENT" else "")))
        if unclosed == "VEVENT" and len(stack) == 1:
            block = None
        if unclosed == "VTIMEZONE" and len(stack) == 1:
            tz_lines = None
    stack.pop()
    return True, block, tz_lines


def _collect(doc: Document, stack: list[tuple[str, int]], block: Block | None, tz_lines: list[str] | None,
             line: Line) -> tuple[Block | None, list[str] | None]:
    """The line added to the event or zone being read; one that ends it hands it to `doc`."""
    ends = line.name == "END" and len(stack) == 1
    if block is not None:
        block.lines.append(line)
        if line.name == "UID" and len(stack) == 2 and block.uid is None:
            block.uid = line.value.strip()
        if ends:
            doc.events.append(block)
            block = None
    if tz_lines is not None:
        tz_lines.append(line.raw)
        if ends:
            tzid = next((t.split(":", 1)[1].strip() for t in tz_lines if t.upper().startswith("TZID")), "")
            doc.timezones[tzid] = "\r\n".join(tz_lines)
            tz_lines = None
    return block, tz_lines


def _close_to_calendar(stack: list[tuple[str, int]], block: Block | None, tz_lines: list[str] | None, number: int,
                       kind: str, name: str, source: str,
                       problems: list[Problem]) -> tuple[Block | None, list[str] | None]:
    """Components left open when BEGIN:`kind` (on line `number`) starts a new one at calendar level: each is
    a problem at the line it opened; an unclosed VEVENT is skipped (it may be incomplete), the rest still read."""
    while len(stack) > 1:
        unclosed, opened_at = stack.pop()
        skipped = "; this event is skipped" if unclosed == "VEVENT" and len(stack) == 1 else ""
        problems.append(Problem(source, f"{name}:{opened_at}",
                                f"{unclosed} opened here has no END:{unclosed} before the BEGIN:{kind} on line "
                                f"{number}{skipped}"))
        if len(stack) == 1:
            if unclosed == "VEVENT":
                block = None
            if unclosed == "VTIMEZONE":
                tz_lines = None
    return block, tz_lines


def unescape(value: str) -> str:
    """TEXT value escapes of RFC 5545 §3.3.11."""
    if "\\" not in value:
        return value
    out, i = [], 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            nxt = value[i + 1]
            out.append("\n" if nxt in "nN" else nxt)
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def params_of(text: str) -> dict[str, str]:
    """';TZID="Central Standard Time";VALUE=DATE' -> {'TZID': 'Central Standard Time', 'VALUE': 'DATE'}."""
    out: dict[str, str] = {}
    if not text:
        return out
    for part in re.findall(r';([^;=]+)=("[^"]*"|[^;]*)', text):
        out[part[0].strip().upper()] = part[1].strip().strip('"')
    return out
