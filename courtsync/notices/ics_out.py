"""Protected sessions as an iCalendar file that Outlook and Google import or subscribe to."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import date, datetime

from icalendar import Calendar, Event
from icalendar.enums import STATUS, TRANSP

from courtsync.models import Collaborative, Session

PRODID = "-//courtsync//Protected Learning Collaborative dates//EN"


def sessions_ics(sessions: Iterable[Session], collaboratives: Mapping[str, Collaborative], name: str,
                 stamp: datetime, holidays_note: bool = True) -> bytes:
    """One VEVENT per session with its stable UID; cancelled ones stay, as STATUS:CANCELLED.

    A calendar that imported an earlier copy updates each event in place: same UID, and a
    SEQUENCE that rises when the session was moved or cancelled.
    """
    items = list(sessions)
    # A fixed calendar UID: a re-import or a refreshed subscription is the same calendar.
    cal = Calendar.new(prodid=PRODID, name=name, method="PUBLISH",
                       uid=uuid.uuid5(uuid.NAMESPACE_URL, f"courtsync:{name}"))
    for s in items:
        collab = collaboratives[s.collaborative_id]
        lines = [f"Protected {collab.kind.replace('-', ' ')} date of the {collab.name}.",
                 "Please do not schedule hearings for its staff on this date."]
        if s.moved_from:
            lines.append(f"Moved from {s.moved_from:%A %B} {s.moved_from.day}, {s.moved_from.year}.")
        if s.origin == "added":
            lines.append("An added session.")
        if s.holiday and holidays_note:
            lines.append(f"Note: this is a court holiday ({s.holiday}); the agency has kept the session.")
        if not s.active:
            lines.append("This session is CANCELLED.")
        event = Event.new(
            uid=s.uid, stamp=stamp, start=s.start, end=s.end,
            summary=("Cancelled: " if not s.active else "") + f"Protected: {collab.name}",
            location=collab.location or None, description="\n".join(lines),
            sequence=0 if s.origin in ("rule", "dates", "added") and s.active else 1,
            status=STATUS.CONFIRMED if s.active else STATUS.CANCELLED,
            transparency=TRANSP.OPAQUE if s.active else TRANSP.TRANSPARENT,
            categories=["Learning Collaborative"])
        cal.add_component(event)
    # Zone rules only for the years the sessions span: a short VTIMEZONE that every client reads.
    years = sorted({s.day.year for s in items}) or [stamp.year]
    cal.add_missing_timezones(first_date=date(years[0], 1, 1), last_date=date(years[-1] + 1, 1, 1))
    data: bytes = cal.to_ical()
    return data
