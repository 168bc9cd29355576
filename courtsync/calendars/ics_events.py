"""VEVENT blocks -> BusyItems: what counts as busy, zones, all-day days, and a fast path for plain events.

A plain event (one VEVENT, no recurrence, IANA/Windows/UTC/floating times) is read here directly,
about 30x faster than through icalendar; everything else goes to ics_full, which uses icalendar
and recurring-ical-events. tests/test_ics_differential.py holds the two readings equal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from courtsync.calendars.ics_scan import FOLD
from courtsync.calendars.ics_text import PARAMS, Block, Document, params_of, unescape
from courtsync.core.busy_rules import busy_rule
from courtsync.models import BusyItem, Problem, SourceKind

UTC = ZoneInfo("UTC")
_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_DATETIME = re.compile(r"^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(Z?)$")
_DURATION = re.compile(r"^([+-])?P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")
RECURRENCE_PROPS = frozenset({"RRULE", "RDATE", "EXDATE", "EXRULE", "RECURRENCE-ID"})
# Dates courtsync reads: anything else is a typo or a placeholder ("forever", year 1). Outside it a date
# cannot always be converted between zones (year 1 or 9999-12-31 23:59 local overflow in UTC).
FIRST_YEAR, LAST_YEAR = 1900, 2200
CASE_TEXT_LIMIT = 2000   # characters of each of summary, description and location searched for case numbers
_YEAR = re.compile(r"^\s*(\d{4})")
_SINGLE = frozenset({"UID", "DTSTART", "DTEND", "DURATION", "SUMMARY", "LOCATION", "DESCRIPTION", "STATUS",
                     "TRANSP", "CLASS", "X-MICROSOFT-CDO-BUSYSTATUS", "X-MICROSOFT-CDO-ALLDAYEVENT"})



def year_of(value: str) -> int | None:
    """The year a DATE or DATE-TIME value starts with (None when it does not start with four digits)."""
    m = _YEAR.match(value)
    return int(m.group(1)) if m else None


def in_range(value: date | datetime) -> bool:
    """A date or instant courtsync reads (FIRST_YEAR..LAST_YEAR, in UTC as well as locally)."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        try:
            value = value.astimezone(UTC)
        except (OverflowError, ValueError):
            return False
    return FIRST_YEAR <= value.year <= LAST_YEAR


@dataclass
class Reader:
    """Everything an event's reading depends on besides its own lines."""

    source: str
    name: str
    kind: SourceKind
    tz: ZoneInfo
    window: tuple[datetime, datetime]
    case_pattern: re.Pattern[str] | None = None
    doc: Document = field(default_factory=lambda: Document(name=""))

    def where(self, line: int) -> str:
        return f"{self.name}:{line}"

    def problem(self, line: int, reason: str) -> Problem:
        return Problem(self.source, self.where(line), reason)


@lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


@lru_cache(maxsize=1024)
def resolve_tzid(tzid: str) -> tuple[tzinfo | None, bool]:
    """IANA, Windows or '/vendor/Area/City' TZID -> (zone, guessed); (None, False) when unknown."""
    cleaned = tzid.strip().strip('"').strip("/")
    zone = _zone(cleaned) if cleaned else None
    if zone is not None:
        return zone, False
    from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON  # loads icalendar: only for other names

    if cleaned in WINDOWS_TO_OLSON:
        return _zone(WINDOWS_TO_OLSON[cleaned]), False
    if tzid.strip().startswith("/"):
        parts = cleaned.split("/")
        for start in range(1, len(parts)):
            zone = _zone("/".join(parts[start:]))
            if zone is not None:
                return zone, True
    return None, False


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=tz)


def add_duration(start: datetime, text: str) -> datetime | None:
    """Nominal days and weeks (wall clock), exact hours, minutes and seconds (RFC 5545 §3.3.6)."""
    m = _DURATION.match(text.strip().upper())
    if not m or not any(m.groups()[1:]):
        return None
    sign = -1 if m.group(1) == "-" else 1
    weeks, days, hours, minutes, seconds = (int(g or 0) for g in m.groups()[1:])
    nominal = start + sign * timedelta(days=7 * weeks + days)
    if start.tzinfo is None:
        return nominal + sign * timedelta(hours=hours, minutes=minutes, seconds=seconds)
    exact = timedelta(hours=hours, minutes=minutes, seconds=seconds)
    return (nominal.astimezone(UTC) + sign * exact).astimezone(start.tzinfo)


def make_item(reader: Reader, *, uid: str, instance: str, start: datetime, end: datetime | None,
              all_day: bool, status: str, transp: str, busystatus: str, summary: str, location: str,
              description: str, attendees: list[str], line: int, flags: list[str],
              private: bool) -> BusyItem:
    busy, more = busy_rule("court" if reader.kind == "court" else "personal", status.upper(), busystatus.upper(),
                           transp.upper() == "TRANSPARENT", summary)
    cases: tuple[str, ...] = ()
    if reader.case_pattern is not None and reader.kind == "court":
        # Bounded work per event: a case number sits near the start of a field, and a pattern that is slow on
        # long text (config.py refuses the worst) cannot stall a feed on a 1 MB description.
        text = "\n".join(field[:CASE_TEXT_LIMIT] for field in (summary, description, location))
        cases = tuple(dict.fromkeys(m.group(0) for m in reader.case_pattern.finditer(text)))
    if private:
        flags = [*flags, "private"]
        summary, location = "(private)", ""
    return BusyItem(source=reader.source, uid=uid, instance=instance, start=start, end=end, all_day=all_day,
                    status=(status or "CONFIRMED").lower(), busy=busy, summary=summary, location=location,
                    case_numbers=cases, attendees=tuple(dict.fromkeys(a for a in attendees if a)), line=line,
                    flags=tuple(dict.fromkeys([*flags, *(f.value for f in more)])), private=private)


def mailto(value: str) -> str:
    value = value.strip()
    if value.lower().startswith("mailto:"):
        value = value[7:]
    return value.strip().lower() if "@" in value else ""


def _value_time(line_params: str, value: str, reader: Reader) -> tuple[date | datetime, list[str]] | None:
    """A DTSTART/DTEND value for the fast path; None when only the full reader can be trusted with it."""
    params = _params(line_params)
    value = value.strip()
    year = year_of(value)
    if year is None or not FIRST_YEAR <= year <= LAST_YEAR:
        return None   # the careful reader reports it
    if params.get("VALUE", "").upper() == "DATE" or _DATE.match(value):
        m = _DATE.match(value)
        return (date(int(m.group(1)), int(m.group(2)), int(m.group(3))), []) if m else None
    if value.endswith("Z") and _DATE.match(value[:-1]):
        m = _DATE.match(value[:-1])
        assert m is not None
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3))), ["date-with-z"]
    m = _DATETIME.match(value)
    if not m:
        return None
    try:
        y, mo, d, hh, mi, ss = (int(g) for g in m.groups()[:6])
        naive = datetime(y, mo, d, hh, mi, ss)
    except ValueError:
        return None
    if m.group(7):
        return naive.replace(tzinfo=UTC), []
    if "TZID" in params:
        tzid = params["TZID"]
        if tzid in reader.doc.timezones and _zone(tzid.strip("/")) is None:
            return None  # a custom VTIMEZONE: icalendar builds the zone from it
        zone, guessed = resolve_tzid(tzid)
        if zone is None:
            return None
        return naive.replace(tzinfo=zone), ["tzid-guessed"] if guessed else []
    if reader.doc.x_wr_timezone:
        return None  # X-WR-TIMEZONE rules are applied by recurring-ical-events
    return naive.replace(tzinfo=reader.tz), ["floating"]


@lru_cache(maxsize=4096)
def _params(text: str) -> dict[str, str]:
    return params_of(text)


# Possessive, ';' outside the inner class: linear on a line of many ';' and no ':' (ics_text._LINE).
_PROPERTY = re.compile(r'^([A-Za-z0-9-]+)((?:;(?:[^";:\r\n]|"[^"]*")*+)*+):([^\r\n]*)', re.M)


def read_plain_chunk(raw: bytes, number: int, reader: Reader) -> tuple[list[BusyItem], list[Problem]] | None:
    """The fast path straight from a chunk's bytes (UTF-8 checked by the scan); None: read it the slow way."""
    if b"\n " in raw or b"\n\t" in raw:
        raw = FOLD.sub(b"", raw)
    text = raw.decode("utf-8")
    props = _PROPERTY.findall(text)
    if len(props) != text.count("\n") + 1 - text.count("\n\n") or text.upper().count("BEGIN:") != 1:
        return None  # a line that is not a property, or a nested component: the careful path reports it
    return read_plain_props([(n.upper(), p, v) for n, p, v in props[1:-1]], number, reader)


def read_plain(block: Block, reader: Reader) -> tuple[list[BusyItem], list[Problem]] | None:
    """The fast path: one non-recurring VEVENT with simple times. None means 'use the full reader'."""
    lines: list[tuple[str, str, str]] = []
    depth = 0
    for line in block.lines[1:-1]:
        if line.name in ("BEGIN", "END"):
            depth += 1 if line.name == "BEGIN" else -1
        elif not depth:  # lines inside a VALARM do not describe the event
            lines.append((line.name, line.params, line.value))
    return read_plain_props(lines, block.number, reader)


def _plain_props(lines: list[tuple[str, str, str]]) -> tuple[dict[str, tuple[str, str]], list[str]] | None:
    """The properties the fast path reads (each once) and the attendees; None when the event is not plain."""
    props: dict[str, tuple[str, str]] = {}
    attendees: list[str] = []
    for name, params, value in lines:
        if name in RECURRENCE_PROPS or (params and not PARAMS.fullmatch(params)):
            return None   # a line the careful reader drops and reports
        if name in ("ATTENDEE", "ORGANIZER"):
            attendees.append(mailto(value))
        elif name in _SINGLE:
            if name in props:
                return None
            props[name] = (params, value)
    if "DTSTART" not in props or "UID" not in props or ("DTEND" in props and "DURATION" in props):
        return None
    return props, attendees


def read_plain_props(lines: list[tuple[str, str, str]], number: int,
                     reader: Reader) -> tuple[list[BusyItem], list[Problem]] | None:
    """A plain event's properties -> its one item; None: read it the careful way."""
    plain = _plain_props(lines)
    if plain is None:
        return None
    props, attendees = plain
    start_read = _value_time(*props["DTSTART"], reader)
    if start_read is None:
        return None
    start_value, flags = start_read
    end_value: date | datetime | None = None
    if "DTEND" in props:
        end_read = _value_time(*props["DTEND"], reader)
        if end_read is None or isinstance(end_read[0], datetime) != isinstance(start_value, datetime):
            return None
        end_value = end_read[0]
    all_day = not isinstance(start_value, datetime)
    tz = reader.tz
    end: datetime | None
    if all_day:
        assert isinstance(start_value, date)
        if "DURATION" in props:
            return None
        last = end_value if isinstance(end_value, date) else start_value + timedelta(days=1)
        if last == start_value:
            last, flags = start_value + timedelta(days=1), [*flags, "all-day-zero-length"]
        if last < start_value:
            return None
        start, end = local_midnight(start_value, tz), local_midnight(last, tz)
    else:
        assert isinstance(start_value, datetime)
        start = start_value
        if "DURATION" in props:
            if props["DURATION"][1].strip().upper() == "P" or start_value.tzinfo is None:
                return None
            end = add_duration(start_value, props["DURATION"][1])
            if end is None:
                return None
        else:
            end = end_value if isinstance(end_value, datetime) else None
            if end is None:
                flags = [*flags, "no-end"]
        if end is not None and (end < start or not in_range(end)):
            return None
        if end is not None and _outlook_all_day(props, start, end):
            start, end, all_day = _as_local_days(start, end, tz)
            flags = [*flags, "outlook-all-day"]
    get = {k: v[1] for k, v in props.items()}
    item = make_item(
        reader, uid=get["UID"].strip(), instance="", start=start, end=end, all_day=all_day,
        status=get.get("STATUS", "").strip(), transp=get.get("TRANSP", "").strip(),
        busystatus=get.get("X-MICROSOFT-CDO-BUSYSTATUS", "").strip(),
        summary=unescape(get.get("SUMMARY", "")).strip(), location=unescape(get.get("LOCATION", "")).strip(),
        description=unescape(get.get("DESCRIPTION", "")), attendees=attendees, line=number, flags=flags,
        private=get.get("CLASS", "").strip().upper() in ("PRIVATE", "CONFIDENTIAL"))
    return [item], []


def _outlook_all_day(props: dict[str, tuple[str, str]], start: datetime, end: datetime) -> bool:
    flag = props.get("X-MICROSOFT-CDO-ALLDAYEVENT", ("", ""))[1].strip().upper() == "TRUE"
    return flag and start.time() == time() and end.time() == time() and end > start


def _as_local_days(start: datetime, end: datetime, tz: ZoneInfo) -> tuple[datetime, datetime, bool]:
    first, last = start.date(), end.date()
    return local_midnight(first, tz), local_midnight(max(last, first + timedelta(days=1)), tz), True
