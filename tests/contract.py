"""One contract for every calendar source: each behaviour stated once, each backend a fixture.

A backend provides `backend`: an object with publish(bytes), break_it() and source() -> Source.
"""

from __future__ import annotations

from typing import Any, Protocol

import pytest

from courtsync.calendars.base import Fetched, Reading, Source, read_whole
from courtsync.errors import SourceError
from courtsync.sync.readers import compare
from tests.calendar_helpers import CALENDARS, WINDOW, stored_after

REFERENCE = (CALENDARS / "court" / "recurrence.ics").read_bytes()


class Backend(Protocol):
    def publish(self, data: bytes) -> None: ...
    def break_it(self) -> None: ...
    def source(self) -> Source: ...


def items_of(reading: Reading) -> list[tuple[Any, ...]]:
    return sorted((i.uid, i.start.timestamp(), i.end.timestamp() if i.end else None, i.busy, i.status)
                  for g in reading.groups.values() for i in g.items)


def to_parse(fetched: Fetched, before: Fetched) -> list[str]:
    """The groups sync parses of `fetched` when the store holds what `before` read (tags compared)."""
    return [g.key for g in compare(fetched, stored_after(before))[0]]


def keys_of(fetched: Fetched) -> set[str]:
    return {g.key for g in fetched.groups}


class SourceContract:
    """Subclass with a `backend` fixture."""

    def test_reads_the_reference_calendar(self, backend: Backend) -> None:
        backend.publish(REFERENCE)
        items = items_of(read_whole(backend.source(), WINDOW))
        assert len(items) == 25
        assert ("rec-moved", 1815508800.0, 1815512400.0, True, "confirmed") in items  # 2027-07-13 15:00 CDT
        assert sum(1 for i in items if not i[3]) == 1  # the cancelled instance is kept, not busy

    def test_an_unchanged_source_costs_no_parsing(self, backend: Backend) -> None:
        backend.publish(REFERENCE)
        source = backend.source()
        first = source.fetch(WINDOW, {})
        again = source.fetch(WINDOW, first.validators)
        assert again.not_modified or to_parse(again, first) == []

    def test_one_changed_event_is_the_only_one_read_again(self, backend: Backend) -> None:
        backend.publish(REFERENCE)
        source = backend.source()
        first = source.fetch(WINDOW, {})
        backend.publish(REFERENCE.replace(b"SUMMARY:2027-JA-000806 the 31st skips short months",
                                          b"SUMMARY:2027-JA-000806 the 31st skips short months (room 4)"))
        second = source.fetch(WINDOW, first.validators)
        assert to_parse(second, first) == ["rec-31st"]
        assert keys_of(second) == keys_of(first)
        parsed = source.parse(second, [g for g in second.groups if g.key == "rec-31st"])
        assert list(parsed) == ["rec-31st"] and parsed["rec-31st"].items

    def test_a_removed_event_is_gone(self, backend: Backend) -> None:
        start = REFERENCE.index(b"BEGIN:VEVENT\r\nUID:rec-extra")
        end = REFERENCE.index(b"END:VEVENT\r\n", start) + len(b"END:VEVENT\r\n")
        backend.publish(REFERENCE)
        source = backend.source()
        first = source.fetch(WINDOW, {})
        backend.publish(REFERENCE[:start] + REFERENCE[end:])
        second = source.fetch(WINDOW, first.validators)
        assert "rec-extra" in keys_of(first) and "rec-extra" not in keys_of(second)

    def test_an_unreadable_source_raises_source_error_naming_it(self, backend: Backend) -> None:
        backend.publish(REFERENCE)
        source = backend.source()
        backend.break_it()
        with pytest.raises(SourceError) as info:
            source.fetch(WINDOW, {})
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
        reading = read_whole(mailbox_backend.source(self.MAILBOXES), WINDOW)
        assert set(reading.groups) == {"w1", "w2", "w3"}
        assert all(len(g.items) == 3 and all(i.worker_ids == (wid,) for i in g.items)
                   for wid, g in reading.groups.items())

    def test_an_unchanged_mailbox_costs_no_writing(self, mailbox_backend: MailboxBackend, held_item: Any) -> None:
        mailbox_backend.publish(self.calendars(held_item))
        first = mailbox_backend.source(self.MAILBOXES).fetch(WINDOW, {})
        again = mailbox_backend.source(self.MAILBOXES).fetch(WINDOW, {})
        assert to_parse(again, first) == [] and keys_of(again) == keys_of(first)

    def test_one_changed_mailbox_is_the_only_one_read_again(self, mailbox_backend: MailboxBackend,
                                                            held_item: Any) -> None:
        calendars = self.calendars(held_item)
        mailbox_backend.publish(calendars)
        first = mailbox_backend.source(self.MAILBOXES).fetch(WINDOW, {})
        calendars["ben@agency.example"] = calendars["ben@agency.example"][:2]
        mailbox_backend.publish(calendars)
        source = mailbox_backend.source(self.MAILBOXES)
        second = source.fetch(WINDOW, {})
        assert to_parse(second, first) == ["w2"]
        assert len(source.parse(second, [g for g in second.groups if g.key == "w2"])["w2"].items) == 2

    def test_an_unreadable_source_raises_source_error(self, mailbox_backend: MailboxBackend,
                                                      held_item: Any) -> None:
        mailbox_backend.publish(self.calendars(held_item))
        mailbox_backend.break_it()
        with pytest.raises(SourceError):
            mailbox_backend.source(self.MAILBOXES).fetch(WINDOW, {})
