"""The check verdict as a pure decision (core.availability): values in, values out, no store and no clock."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from courtsync.core import availability
from courtsync.core.schedule import CourtHolidays
from courtsync.models import BusyItem, Collaborative, Session, SourceInfo, Worker

TZ = ZoneInfo("America/Chicago")
WORKER = Worker("w01", "Ana Ruiz", "ana@agency.example", "caseworker", "North", None, ("kin",))
TUESDAY = date(2027, 1, 5)


def at(d: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(d, time(hour, minute), tzinfo=TZ)


def facts(**kw: object) -> availability.Facts:
    session = Session("kin", "kin-1", TUESDAY, at(TUESDAY, 9), at(TUESDAY, 12))
    values: dict[str, object] = dict(tz=TZ, sessions=[session], items=[], names={"kin": "Kinship Care"},
                                     buffers={"kin": timedelta(minutes=30)}, default_buffer=timedelta(minutes=30),
                                     holidays=CourtHolidays([date(2027, 1, 18)]), read_ids=["cook"],
                                     seen=(date(2026, 10, 1), date(2027, 7, 1)))
    values.update(kw)
    return availability.Facts(**values)  # type: ignore[arg-type]


def test_a_time_in_a_session_is_a_conflict_with_other_dates_offered() -> None:
    request = availability.Request(WORKER, TUESDAY, (time(10), time(11)))
    answer = availability.decide(request, facts())
    assert answer.verdict == "conflict"
    assert [r.kind for r in answer.reasons] == ["overlap"]
    assert answer.reasons[0].message == "Kinship Care meets 09:00–12:00 on Tue 2027-01-05: a protected session."
    assert answer.suggestions == (date(2027, 1, 6), date(2027, 1, 7), date(2027, 1, 8))
    assert [s.uid for s in availability.touching(request, facts())] == ["kin-1"]


def test_a_time_in_the_buffer_says_how_long_the_buffer_is() -> None:
    answer = availability.decide(availability.Request(WORKER, TUESDAY, (time(12, 15), time(13))), facts())
    assert [r.kind for r in answer.reasons] == ["buffer"]
    assert "30-minute travel buffer" in answer.reasons[0].message


def test_a_clear_time_is_free_and_says_what_was_looked_at() -> None:
    answer = availability.decide(availability.Request(WORKER, TUESDAY, (time(14), time(15))), facts())
    assert answer.verdict == "free" and answer.suggestions == ()
    assert answer.reasons[0].message == (
        "No protected session of w01's collaboratives (kin) touches this time or its 30-minute buffer; no busy "
        "item in 1 calendar source(s) (cook); not a weekend; not a court holiday (the configured list).")


def test_a_busy_item_is_a_conflict_naming_its_case_and_flags() -> None:
    item = BusyItem("cook", "h1", "", at(TUESDAY, 14), at(TUESDAY, 15), False, "confirmed", True, "", "",
                    case_numbers=("2027-JA-001",), flags=("tentative",))
    answer = availability.decide(availability.Request(WORKER, TUESDAY, (time(14), time(15)), suggest_n=0),
                                 facts(items=[item]))
    assert answer.verdict == "conflict" and answer.suggestions == ()
    assert answer.reasons[0].message == "Already busy 14:00–15:00: case 2027-JA-001 on cook (tentative)."


def test_an_unread_calendar_makes_a_clear_date_unknown_and_withholds_offers() -> None:
    unread = SourceInfo("cook", "court", "error", None, 0, "never read: not synced yet")
    request = availability.Request(WORKER, TUESDAY, (time(10), time(11)))
    answer = availability.decide(request, facts(unread=[unread], read_ids=[]), makeups=["a make-up"])  # type: ignore[list-item]
    assert answer.verdict == "conflict" and answer.suggestions == () and answer.makeups == ()
    assert [r.kind for r in answer.reasons] == ["overlap", "unread", "suggestions", "makeups"]
    clear = availability.decide(availability.Request(WORKER, TUESDAY, (time(14), time(15))),
                                facts(unread=[unread], read_ids=[]))
    assert clear.verdict == "unknown"
    assert clear.reasons[-1].message.startswith("Looks free in what was read (no protected session")
    assert "while cook is unread" in clear.reasons[-1].message


def test_weekends_and_holidays_are_never_free() -> None:
    saturday = availability.decide(availability.Request(WORKER, date(2027, 1, 9), suggest_n=0), facts())
    holiday = availability.decide(availability.Request(WORKER, date(2027, 1, 18), suggest_n=0), facts())
    assert [r.kind for r in saturday.reasons] == ["weekend"]
    assert [r.kind for r in holiday.reasons] == ["holiday"]


def test_make_ups_are_same_tier_sessions_of_the_month_the_worker_is_free_for_nearest_region_first() -> None:
    def collab(cid: str, region: str, kind: str = "regional") -> Collaborative:
        return Collaborative(cid, cid.title(), kind, time(9), time(12), region=region)  # type: ignore[arg-type]
    collaboratives = {c.id: c for c in (collab("kin", "North"), collab("east", "East"), collab("north2", "North"),
                                        collab("busy", "North"), collab("center", "North", "training-center"))}

    def on(cid: str, d: date) -> list[Session]:
        return [Session(cid, f"{cid}-1", d, at(d, 9), at(d, 12))]
    sessions = {"kin": on("kin", TUESDAY), "east": on("east", date(2027, 1, 6)),
                "north2": on("north2", date(2027, 1, 20)), "busy": on("busy", date(2027, 1, 7)),
                "center": on("center", date(2027, 1, 8))}
    hearing = BusyItem("cook", "h1", "", at(date(2027, 1, 7), 10), at(date(2027, 1, 7), 11), False, "confirmed",
                       True, "", "")
    found = availability.makeups(WORKER, sessions["kin"][0], collaboratives, sessions, [hearing],
                                 lambda item: timedelta(0))
    assert [m.session.collaborative_id for m in found] == ["north2", "east"]
