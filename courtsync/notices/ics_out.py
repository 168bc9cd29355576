"""Protected sessions as an iCalendar file that Outlook, Google, Apple, Thunderbird and libical import or
subscribe to, and that updates in place in each of them."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event
from icalendar.enums import STATUS, TRANSP

from courtsync.models import Collaborative, PublishedEvent, Session
from courtsync.notices.letters import long_date
from courtsync.notices.vtimezone import vtimezone

PRODID = "-//courtsync//Protected Learning Collaborative dates//EN"


def session_event(s: Session, collab: Collaborative, holidays_note: bool = True) -> PublishedEvent:
    """What the calendar says of one session. Its `sequence` is where a first publication starts: 1 for a
    moved or cancelled session, as releases before the published-calendar record wrote them, so a
    calendar that imported one of those never sees a SEQUENCE go down."""
    lines = [f"Protected {collab.kind.replace('-', ' ')} date of the {collab.name}.",
             "Please do not schedule hearings for its staff on this date."]
    if s.moved_from:
        lines.append(f"Moved from {long_date(s.moved_from)}.")
    if s.origin == "added":
        lines.append("An added session.")
    if s.holiday and holidays_note:
        lines.append(f"Note: this is a court holiday ({s.holiday}); the agency has kept the session.")
    if not s.active:
        lines.append("This session is CANCELLED.")
    return PublishedEvent(uid=s.uid, start=s.start, end=s.end, cancelled=not s.active,
                          summary=("Cancelled: " if not s.active else "") + f"Protected: {collab.name}",
                          location=collab.location or "", description="\n".join(lines),
                          sequence=0 if s.origin in ("rule", "dates", "added") and s.active else 1)


def calendar_ics(events: Iterable[PublishedEvent], name: str, calendar: str) -> bytes:
    """One VEVENT per event, in the order given, with a rule-based VTIMEZONE for each zone they use.
    `calendar` is the published calendar's key (worker:ID, collaborative:ID, court:ID, all): its identity.

    No METHOD: a calendar file or subscription is not an iTIP message, and METHOD:PUBLISH would require an
    ORGANIZER (RFC 5546, libical checks it), which would make each session a meeting with replies to send.
    """
    items = list(events)
    # A fixed calendar UID, from the key and not the title (a renamed worker, "(no longer scheduled)"): a
    # re-import or a refreshed subscription is the same calendar.
    uid = uuid.uuid5(uuid.NAMESPACE_URL, f"courtsync:calendar:{calendar}")
    cal = Calendar.new(prodid=PRODID, name=name, uid=uid)
    zones: dict[str, ZoneInfo] = {}
    years: list[int] = []
    for e in items:
        assert e.stamp is not None, "plan the events (courtsync.publish) before writing them"
        if isinstance(e.start.tzinfo, ZoneInfo):
            zones.setdefault(e.start.tzinfo.key, e.start.tzinfo)
        years.append(e.start.year)
        cal.add_component(Event.new(
            uid=e.uid, stamp=e.stamp.astimezone(UTC), start=e.start, end=e.end, summary=e.summary,
            location=e.location or None, description=e.description, sequence=e.sequence,
            status=STATUS.CANCELLED if e.cancelled else STATUS.CONFIRMED,
            transparency=TRANSP.TRANSPARENT if e.cancelled else TRANSP.OPAQUE,
            categories=["Learning Collaborative"]))
    for key in sorted(zones):
        cal.add_component(vtimezone(zones[key], min(years), max(years)))
    # VTIMEZONEs first, as Outlook writes them and as some readers need them (before the events using them).
    cal.subcomponents.sort(key=lambda c: c.name != "VTIMEZONE")
    data: bytes = cal.to_ical()
    return data
