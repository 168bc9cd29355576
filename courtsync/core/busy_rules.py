"""PURE: what counts as busy (product.md), and the one vocabulary of flags that say why, each with its text."""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Literal

BusyKind = Literal["court", "personal", "mailbox"]   # a court feed, a person's own .ics, an Outlook mailbox


class Flag(StrEnum):
    """A special reading applied to a busy item; the value is what the store and every output hold."""

    CANCELLED = "cancelled"
    HEARING_MARKED_FREE = "hearing-marked-free"
    FREE = "free"
    TENTATIVE = "tentative"
    OUT_OF_OFFICE = "out-of-office"
    WORKING_ELSEWHERE = "working-elsewhere"
    STATUS_UNKNOWN = "status-unknown"
    POSSIBLY_CANCELLED = "possibly-cancelled"
    NO_END = "no-end"
    END_BEFORE_START = "end-before-start"
    ALL_DAY = "all-day"
    ALL_DAY_ZERO_LENGTH = "all-day-zero-length"
    DATE_WITH_Z = "date-with-z"
    OUTLOOK_ALL_DAY = "outlook-all-day"
    FLOATING = "floating"
    TZID_GUESSED = "tzid-guessed"
    EXTRA_DTSTART = "extra-dtstart"
    UNTIL_ADJUSTED = "until-adjusted"
    DUPLICATE_UID = "duplicate-uid"
    SERIES_CAPPED = "series-capped"
    PRIVATE = "private"


# What each flag means, for people asking "why does it say free?"
FLAG_TEXT: Mapping[str, str] = {
    Flag.CANCELLED: "STATUS:CANCELLED: not busy",
    Flag.HEARING_MARKED_FREE: "the court marked it free (TRANSPARENT); a hearing still counts",
    Flag.FREE: "marked free (TRANSPARENT or Free): not busy",
    Flag.TENTATIVE: "tentative: counts as busy",
    Flag.OUT_OF_OFFICE: "out of office: counts as busy",
    Flag.WORKING_ELSEWHERE: "Outlook shows it as working elsewhere: not busy",
    Flag.STATUS_UNKNOWN: "the mail system gave no free/busy status: counts as busy",
    Flag.POSSIBLY_CANCELLED: "summary says cancelled but STATUS is not CANCELLED: still counts, please confirm",
    Flag.NO_END: "no end time published: counts as an instant",
    Flag.END_BEFORE_START: "DTEND is before DTSTART: counted busy from the end to the start",
    Flag.ALL_DAY: "an all-day item: blocks whole local days",
    Flag.ALL_DAY_ZERO_LENGTH: "all-day item whose end equals its start: read as one day",
    Flag.DATE_WITH_Z: "a DATE value with a trailing Z: read as an all-day date",
    Flag.OUTLOOK_ALL_DAY: "Outlook midnight-to-midnight all-day item",
    Flag.FLOATING: "no time zone: read in the agency's zone",
    Flag.TZID_GUESSED: "vendor-prefixed TZID: zone guessed from its last part",
    Flag.EXTRA_DTSTART: "DTSTART is not one of its rule's dates: it counts as an extra occurrence",
    Flag.UNTIL_ADJUSTED: "a date or local UNTIL: read as the end of that day in the event's zone",
    Flag.DUPLICATE_UID: "another item has the same UID and SEQUENCE at another time: both kept",
    Flag.SERIES_CAPPED: "a very dense series: only the first occurrences in the window are kept",
    Flag.PRIVATE: "private item: its subject is never shown",
}

_CANCELLED_PREFIX = re.compile(r"^\s*(cancell?ed|canceled)\s*:", re.I)
_CANCELLED: tuple[bool, tuple[Flag, ...]] = (False, (Flag.CANCELLED,))


def busy_rule(kind: BusyKind, status: str = "", show_as: str = "", transparent: bool = False,
              summary: str = "") -> tuple[bool, tuple[Flag, ...]]:
    """product.md 'What counts as busy': hearings count unless cancelled; own items unless free or cancelled.

    Inputs are normalised to upper case: `status` is iCalendar's STATUS (CANCELLED, TENTATIVE, ...; a mailbox
    passes CANCELLED or ""), `show_as` the Outlook free/busy status (X-MICROSOFT-CDO-BUSYSTATUS in a feed:
    FREE, TENTATIVE, BUSY, OOF, WORKINGELSEWHERE, UNKNOWN, ...), `transparent` TRANSP:TRANSPARENT, and
    `summary` is searched for a "Cancelled:" prefix (a mailbox passes none). A mailbox's statuses are
    Outlook's own: working elsewhere is not busy, an unknown status is.
    """
    if status == "CANCELLED":
        return _CANCELLED
    flags: tuple[Flag, ...] = (Flag.POSSIBLY_CANCELLED,) if summary and _CANCELLED_PREFIX.match(summary) else ()
    marked_free = transparent or show_as == "FREE"
    if kind == "court":
        return True, (*flags, Flag.HEARING_MARKED_FREE) if marked_free else flags
    if marked_free:
        return False, (*flags, Flag.FREE)
    if kind == "mailbox":
        if show_as == "WORKINGELSEWHERE":
            return False, (*flags, Flag.WORKING_ELSEWHERE)
        if show_as in ("UNKNOWN", "NODATA"):
            return True, (*flags, Flag.STATUS_UNKNOWN)
    if status == "TENTATIVE" or show_as == "TENTATIVE":
        flags = (*flags, Flag.TENTATIVE)
    if show_as == "OOF":
        flags = (*flags, Flag.OUT_OF_OFFICE)
    return True, flags
