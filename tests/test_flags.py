"""Every flag a source can emit is one of core.busy_rules.Flag and has its explanation (issue 12, item 5)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from courtsync.calendars.base import read_whole
from courtsync.calendars.mailbox import MailboxItem, MailboxResult, MailboxSource
from courtsync.core.busy_rules import FLAG_TEXT, Flag, busy_rule
from courtsync.errors import SourceError
from courtsync.models import BusyItem
from tests.calendar_helpers import CALENDARS, WINDOW, read_bytes
from tests.conftest import AS_OF, Run
from tests.test_hostile_events import HOSTILE, feed

SOURCES = Path(__file__).resolve().parent.parent / "courtsync" / "calendars"
# Where the readers name a flag: flags.append("x"), [*flags, "x"], return value, ["x"], .append("x") on flags_of.
_NAMED = re.compile(r'flags\.append\("([^"]+)"\)|\[\*\w*flags, "([^"]+)"\]|, \["([^"]+)"\]|'
                    r'flags_of\.setdefault\([^)]*\)\.append\("([^"]+)"\)')


def test_the_flag_vocabulary_and_its_texts_have_the_same_members() -> None:
    assert set(FLAG_TEXT) == set(Flag)
    for flag, text in FLAG_TEXT.items():
        assert text.strip() and text != flag, flag


def test_every_flag_a_reader_names_is_a_flag() -> None:
    named = {g for path in SOURCES.glob("*.py") for m in _NAMED.finditer(path.read_text()) for g in m.groups() if g}
    assert {"no-end", "floating", "duplicate-uid", "all-day", "private", "end-before-start"} <= named, named
    assert named <= {f.value for f in Flag}, named - {f.value for f in Flag}


def _flags(items: list[BusyItem]) -> set[str]:
    return {f for i in items for f in i.flags}


def _items_of(data: bytes, name: str, kind: str) -> list[BusyItem]:
    try:
        snap = read_bytes(data, name, kind)  # type: ignore[arg-type]
    except SourceError:   # a file not read at all (empty, a login page) has no items to flag
        return []
    return [i for g in snap.groups.values() for i in (g.items or [])]


def test_every_flag_read_from_the_fixture_and_hostile_calendars_is_explained() -> None:
    seen: set[str] = set()
    for path in sorted(CALENDARS.rglob("*.ics")) + sorted(CALENDARS.parent.glob("fuzz_found/*.ics")):
        for kind in ("court", "personal"):
            seen |= _flags(_items_of(path.read_bytes(), path.name, kind))
    for bad in HOSTILE.values():
        seen |= _flags(_items_of(feed(bad), "hostile.ics", "court"))
    assert len(seen) >= 10, seen   # the fixtures exercise most readings
    assert all(isinstance(Flag(f), Flag) and FLAG_TEXT[f] for f in seen), seen


def test_events_explain_every_stored_flag_of_the_example(example_dir: Path, run: Callable[..., Run]) -> None:
    cfg = ["--config", str(example_dir / "courtsync.toml"), "--as-of", AS_OF.isoformat()]
    run("sync", *cfg)
    data = json.loads(run("events", *cfg, "--offline", "--format", "json").stdout)
    pairs = [(f, why) for e in data["events"] for f, why in zip(e["flags"], e["why"], strict=True)]
    assert pairs, "the example's feeds carry flagged items"
    for flag, why in pairs:
        assert why == FLAG_TEXT[Flag(flag)], flag


class _Mailboxes(MailboxSource):
    """A mail system answering with one item of each status it can report (the protocols' own values)."""

    STATUSES = ("Busy", "Free", "Tentative", "OOF", "WorkingElsewhere", "NoData", "unknown", "busy", "oof")

    def calendar_view(self, email: str, start: datetime, end: datetime) -> MailboxResult:
        at = start + timedelta(days=1)
        items = [MailboxItem(uid=f"{status}-{n}", start=at + timedelta(hours=n), end=at + timedelta(hours=n + 1),
                             status=status, all_day=n % 3 == 0, cancelled=n % 4 == 1, private=n % 2 == 0,
                             subject="Cancelled: prep")
                 for n, status in enumerate(self.STATUSES * 2)]
        return MailboxResult(email, items)

    def free_busy(self, emails: list[str], start: datetime, end: datetime) -> Iterator[MailboxResult]:
        return (self.calendar_view(e, start, end) for e in emails)


def test_every_flag_a_mailbox_reading_gives_is_explained() -> None:

    source = _Mailboxes("exchange", "exchange", "Exchange", {"ana@agency.example": "w1"}, timedelta(days=60),
                        timedelta(seconds=1))
    items = [i for g in read_whole(source, WINDOW).groups.values() for i in (g.items or [])]
    seen = _flags(items)
    assert {"cancelled", "free", "tentative", "out-of-office", "working-elsewhere", "status-unknown", "all-day",
            "private"} <= seen, seen
    assert all(FLAG_TEXT[Flag(f)] for f in seen)
    assert "possibly-cancelled" not in seen   # a mailbox's subject is not searched (its status says it)


@pytest.mark.parametrize(("kind", "status", "show_as", "transparent", "summary", "expected"), [
    ("court", "CANCELLED", "", True, "", (False, ("cancelled",))),
    ("court", "CONFIRMED", "", True, "Cancelled: hearing", (True, ("possibly-cancelled", "hearing-marked-free"))),
    ("personal", "", "FREE", False, "", (False, ("free",))),
    ("personal", "TENTATIVE", "OOF", False, "", (True, ("tentative", "out-of-office"))),
    ("personal", "", "WORKINGELSEWHERE", False, "", (True, ())),
    ("mailbox", "", "WORKINGELSEWHERE", False, "", (False, ("working-elsewhere",))),
    ("mailbox", "", "NODATA", False, "", (True, ("status-unknown",))),
    ("mailbox", "CANCELLED", "BUSY", False, "", (False, ("cancelled",))),
])
def test_one_busy_rule_for_every_kind_of_source(kind: str, status: str, show_as: str, transparent: bool,
                                                summary: str, expected: tuple[bool, tuple[str, ...]]) -> None:
    assert busy_rule(kind, status, show_as, transparent, summary) == expected  # type: ignore[arg-type]
