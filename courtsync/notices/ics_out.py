"""Protected sessions as an iCalendar file that Outlook and Google import or subscribe to."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from icalendar import Calendar, Event

from courtsync.models import Collaborative, Session

PRODID = "-//courtsync//Protected Learning Collaborative dates//EN"


def sessions_ics(sessions: Iterable[Session], collaboratives: Mapping[str, Collaborative], name: str,
                 stamp: datetime, holidays_note: bool = True) -> bytes:
    """One VEVENT per session with its stable UID; cancelled ones stay, as STATUS:CANCELLED.

    A calendar that imported an earlier copy updates each event in place: same UID, and a
    SEQUENCE that rises when the session was moved or cancelled.
    """
    cal = Calendar.new(prodid=PRODID, name=name, method="PUBLISH")
    for s in sessions:
        collab = collaboratives[s.collaborative_id]
        lines = [f"Protected {collab.kind.replace('-', ' ')} date of the {collab.name}.",
                 "Please do not schedule hearings for its staff on this date."]
        if s.moved_from:
            lines.append(f"Moved from {s.moved_from:%A %B %-d, %Y}.")
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
            status="CONFIRMED" if s.active else "CANCELLED",
            transparency="OPAQUE" if s.active else "TRANSPARENT",
            categories=["Learning Collaborative"])
        cal.add_component(event)
    cal.add_missing_timezones()
    return cal.to_ical()
