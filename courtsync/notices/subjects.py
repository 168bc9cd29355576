"""Email subjects for letters and digests: they name the agency, and are always one header line."""

from __future__ import annotations

DASH = " — "


def one_line(text: str) -> str:
    """Any CR, LF or run of whitespace becomes one space: a header is never built from text with line breaks
    (a name with CR LF in it would otherwise end the Subject line and start a header of its own)."""
    return " ".join(text.split())


def _named(agency: str | None, what: str) -> str:
    return one_line(f"{agency}{DASH}{what}" if agency and agency.strip() else what[:1].upper() + what[1:])


def letter_subject(agency: str | None, court: str, amended: bool) -> str:
    """'<agency> — Learning Collaborative dates for <court>' ('Amended ...' after a change)."""
    return _named(agency, f"{'Amended ' if amended else ''}Learning Collaborative dates for {court}")


def digest_subject(agency: str | None, supervisor: str, week: str, new: int, still_open: int, resolved: int,
                   unread: bool) -> str:
    """'<agency> — weekly digest for <supervisor>, week 2027-W24: 1 new, 2 still open, 0 resolved'."""
    if unread:
        state = "calendars not read, may be missing conflicts"
    elif new == still_open == resolved == 0:
        state = "all clear"
    else:
        state = f"{new} new, {still_open} still open, {resolved} resolved"
    return _named(agency, f"weekly digest for {one_line(supervisor)}, week {week}: {state}")
