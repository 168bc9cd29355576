"""Email subjects for letters and digests: they name the agency, and read as one line.

Line breaks in configured names are refused when courtsync.toml loads (fields.OneLine), and outbox.new_message
refuses one in any header it builds; here runs of spaces are only tidied, so a subject reads well."""

from __future__ import annotations

DASH = " — "


def squash_spaces(text: str) -> str:
    """Each run of whitespace (a roster name typed with two spaces, a tab, a line break in a quoted CSV field)
    becomes one space: tidying for reading, not the header check."""
    return " ".join(text.split())


def _named(agency: str | None, what: str) -> str:
    return squash_spaces(f"{agency}{DASH}{what}" if agency and agency.strip() else what[:1].upper() + what[1:])


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
    return _named(agency, f"weekly digest for {supervisor}, week {week}: {state}")


def enrollment_subject(agency: str | None, worker: str, collaborative: str, change: str) -> str:
    """'<agency> — enrollment confirmed: <worker>, <collaborative>' ('enrollment changed' after a move, 'dates
    changed' when the sessions did)."""
    what = {"new": "enrollment confirmed", "moved": "enrollment changed", "dates": "dates changed"}[change]
    return _named(agency, f"{what}: {worker}, {collaborative}")
