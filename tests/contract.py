"""One contract for every calendar source: each behaviour stated once, each backend a fixture.

A backend provides `backend`: an object with publish(bytes), break_it() and source() -> Source.
"""

from __future__ import annotations

from typing import Any, Protocol

import pytest

from courtsync.calendars.base import Snapshot, Source
from courtsync.errors import SourceError
from tests.calendar_helpers import CALENDARS, WINDOW, known_after

REFERENCE = (CALENDARS / "court" / "recurrence.ics").read_bytes()


class Backend(Protocol):
    def publish(self, data: bytes) -> None: ...
    def break_it(self) -> None: ...
    def source(self) -> Source: ...


def items_of(snap: Snapshot) -> list[tuple[Any, ...]]:
    return sorted((i.uid, i.start.timestamp(), i.end.timestamp() if i.end else None, i.busy, i.status)
                  for g in snap.groups.values() for i in (g.items or []))


def keys_after(snap: Snapshot, before: set[str]) -> set[str]:
    """The groups a source has after this read, given those it had before (a partial read lists only changes)."""
    return (before - set(snap.removed)) | set(snap.groups) if snap.partial else set(snap.groups)


class SourceContract:
    """Subclass with a `backend` fixture."""

    def test_reads_the_reference_calendar(self, backend: Backend) -> None:
        backend.publish(REFERENCE)
        snap = backend.source().read(WINDOW, {}, {})
        items = items_of(snap)
        assert len(items) == 25
        assert ("rec-moved", 1815508800.0, 1815512400.0, True, "confirmed") in items  # 2027-07-13 15:00 CDT
        assert sum(1 for i in items if not i[3]) == 1  # the cancelled instance is kept, not busy

    def test_an_unchanged_source_costs_no_parsing(self, backend: Backend) -> None:
        backend.publish(REFERENCE)
        source = backend.source()
        first = source.read(WINDOW, {}, {})
        again = source.read(WINDOW, first.validators, known_after(first))
        assert again.not_modified or all(g.items is None for g in again.groups.values())

    def test_one_changed_event_is_the_only_one_read_again(self, backend: Backend) -> None:
        backend.publish(REFERENCE)
        source = backend.source()
        first = source.read(WINDOW, {}, {})
        backend.publish(REFERENCE.replace(b"SUMMARY:2027-JA-000806 the 31st skips short months",
                                          b"SUMMARY:2027-JA-000806 the 31st skips short months (room 4)"))
        second = source.read(WINDOW, first.validators, known_after(first))
        assert [k for k, g in second.groups.items() if g.items is not None] == ["rec-31st"]
        assert keys_after(second, set(first.groups)) == set(first.groups)

    def test_a_removed_event_is_gone(self, backend: Backend) -> None:
        start = REFERENCE.index(b"BEGIN:VEVENT\r\nUID:rec-extra")
        end = REFERENCE.index(b"END:VEVENT\r\n", start) + len(b"END:VEVENT\r\n")
        backend.publish(REFERENCE)
        source = backend.source()
        first = source.read(WINDOW, {}, {})
        backend.publish(REFERENCE[:start] + REFERENCE[end:])
        second = source.read(WINDOW, first.validators, known_after(first))
        assert "rec-extra" in first.groups and "rec-extra" not in keys_after(second, set(first.groups))

    def test_an_unreadable_source_raises_source_error_naming_it(self, backend: Backend) -> None:
        backend.publish(REFERENCE)
        source = backend.source()
        backend.break_it()
        with pytest.raises(SourceError) as info:
            source.read(WINDOW, {}, {})
        assert source.label in info.value.message
        assert "secret" not in info.value.message and "token" not in source.label


class MailboxBackend(Protocol):
    def publish(self, calendars: dict[str, list[Any]]) -> None: ...   # mailbox -> held items
    def break_it(self) -> None: ...
    def source(self, mailboxes: dict[str, str]) -> Source: ...


class MailboxContract:
    """The same promises for mail-system sources, whose unit of change is a mailbox. Subclass with
    `mailbox_backend` and `held_item` (a factory of mail_fixtures.Held)."""

    MAILBOXES = {"ana@agency.example": "w1", "ben@agency.example": "w2", "cy@agency.example": "w3"}

    def calendars(self, make: Any) -> dict[str, list[Any]]:
        return {email: [make(email, n) for n in range(3)] for email in self.MAILBOXES}

    def test_reads_every_mailbox(self, mailbox_backend: MailboxBackend, held_item: Any) -> None:
        mailbox_backend.publish(self.calendars(held_item))
        snap = mailbox_backend.source(self.MAILBOXES).read(WINDOW, {}, {})
        assert set(snap.groups) == {"w1", "w2", "w3"}
        assert all(len(g.items or []) == 3 and all(i.worker_ids == (wid,) for i in g.items or [])
                   for wid, g in snap.groups.items())

    def test_an_unchanged_mailbox_costs_no_writing(self, mailbox_backend: MailboxBackend, held_item: Any) -> None:
        mailbox_backend.publish(self.calendars(held_item))
        first = mailbox_backend.source(self.MAILBOXES).read(WINDOW, {}, {})
        again = mailbox_backend.source(self.MAILBOXES).read(WINDOW, {}, known_after(first))
        assert all(g.items is None for g in again.groups.values())

    def test_one_changed_mailbox_is_the_only_one_read_again(self, mailbox_backend: MailboxBackend,
                                                            held_item: Any) -> None:
        calendars = self.calendars(held_item)
        mailbox_backend.publish(calendars)
        first = mailbox_backend.source(self.MAILBOXES).read(WINDOW, {}, {})
        calendars["ben@agency.example"] = calendars["ben@agency.example"][:2]
        mailbox_backend.publish(calendars)
        second = mailbox_backend.source(self.MAILBOXES).read(WINDOW, {}, known_after(first))
        assert [k for k, g in second.groups.items() if g.items is not None] == ["w2"]
        assert len(second.groups["w2"].items or []) == 2

    def test_an_unreadable_source_raises_source_error(self, mailbox_backend: MailboxBackend,
                                                      held_item: Any) -> None:
        mailbox_backend.publish(self.calendars(held_item))
        mailbox_backend.break_it()
        with pytest.raises(SourceError):
            mailbox_backend.source(self.MAILBOXES).read(WINDOW, {}, {})
