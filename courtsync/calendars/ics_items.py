"""One expanded occurrence of a VEVENT -> a BusyItem: its end (exact durations kept), all-day days, floating
times, the Outlook all-day marker, instance ids and attendees (the careful reader's last step, ics_full)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from courtsync.calendars.ics_events import UTC, Reader, add_duration, local_midnight, mailto, make_item, resolve_tzid
from courtsync.calendars.ics_text import Block, unescape
from courtsync.models import BusyItem


def aware(value: date | datetime, reader: Reader) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=reader.tz)
    return local_midnight(value, reader.tz)


def exact_span(comp: Any, reader: Reader) -> timedelta | None:
    """The exact length of an instance given by DTSTART and DTEND (RFC 5545 3.8.5.3: every instance
    takes the exact duration of the first, also across a daylight-saving change)."""
    start, end = comp.get("DTSTART"), comp.get("DTEND")
    if end is None or not isinstance(start.dt, datetime) or not isinstance(end.dt, datetime):
        return None
    # abs(): recurring-ical-events already swaps the two of a series that ends before it starts.
    return abs(aware(end.dt, reader).astimezone(UTC) - aware(start.dt, reader).astimezone(UTC))


def exact_duration(block: Block) -> str | None:
    line = next((x for x in block.lines if x.name == "DURATION"), None)
    if line is None:
        return None
    text = line.value.strip().upper()
    return text if "T" in text else None


def to_item(occ: Any, block: Block, reader: Reader, recurring: bool, exact: str | timedelta | None,
             flags: list[str]) -> BusyItem | None:
    flags = list(flags)
    start = occ.get("DTSTART").dt
    has_end = "DTEND" in occ or "DURATION" in occ
    all_day = not isinstance(start, datetime)
    tz = reader.tz
    e: datetime | None
    if all_day:
        first = start
        last = occ.get("DTEND").dt if "DTEND" in occ else None
        if last is None and "DURATION" in occ:
            last = first + occ.get("DURATION").dt
        if isinstance(last, datetime):
            last = last.date()
        if last is None:
            last = first + timedelta(days=1)
        if last == first:
            last, flags = first + timedelta(days=1), [*flags, "all-day-zero-length"]
        first, last = min(first, last), max(first, last)   # an end before the start: busy between them
        s, e = local_midnight(first, tz), local_midnight(last, tz)
    else:
        if start.tzinfo is None:
            start = start.replace(tzinfo=_calendar_zone(reader))
            flags.append("floating")
        s = start
        if isinstance(exact, timedelta):
            e = (start.astimezone(UTC) + exact).astimezone(start.tzinfo) if recurring else occ.end
            e = e if e.tzinfo is not None else e.replace(tzinfo=_calendar_zone(reader))
        elif exact is not None:
            e = add_duration(start, exact)
        elif has_end:
            end = occ.end
            e = end.replace(tzinfo=_calendar_zone(reader)) if end.tzinfo is None else end
        else:
            e = None
            flags.append("no-end")
        if e is not None and "X-MICROSOFT-CDO-ALLDAYEVENT" in occ and str(occ["X-MICROSOFT-CDO-ALLDAYEVENT"]).upper() \
                == "TRUE" and s.time() == time() and e.time() == time() and e > s:
            s, e, all_day = local_midnight(s.date(), tz), local_midnight(e.date(), tz), True
            flags.append("outlook-all-day")
        if e is not None and e < s:
            s, e = e, s   # an end before the start (reported): busy over the interval between them
    rid = occ.get("RECURRENCE-ID")
    instance = ""
    if recurring and rid is not None:
        rid_dt = rid.dt
        instance = (rid_dt.astimezone(UTC).isoformat() if isinstance(rid_dt, datetime) and rid_dt.tzinfo
                    else rid_dt.isoformat())
    attendees = [mailto(str(a)) for a in _as_list(occ.get("ATTENDEE"))]
    if occ.get("ORGANIZER") is not None:
        attendees.append(mailto(str(occ.get("ORGANIZER"))))
    return make_item(reader, uid=str(occ.get("UID", block.uid or "")).strip(), instance=instance, start=s, end=e,
                     all_day=all_day, status=str(occ.get("STATUS", "")), transp=str(occ.get("TRANSP", "")),
                     busystatus=str(occ.get("X-MICROSOFT-CDO-BUSYSTATUS", "")),
                     summary=_text(occ.get("SUMMARY")), location=_text(occ.get("LOCATION")),
                     description=_text(occ.get("DESCRIPTION")), attendees=attendees, line=block.number,
                     flags=flags, private=str(occ.get("CLASS", "")).upper() in ("PRIVATE", "CONFIDENTIAL"))


def _calendar_zone(reader: Reader) -> Any:
    """Floating times: the calendar's X-WR-TIMEZONE when it names a known zone, else the agency's."""
    if reader.doc.x_wr_timezone:
        zone, _ = resolve_tzid(reader.doc.x_wr_timezone)
        if zone is not None:
            return zone
    return reader.tz


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        value = value[0]
    return unescape(str(value)) if "\\" in str(value) else str(value).strip()

