"""Exchange (EWS) source against `responses` replaying SOAP as Exchange 2016 answers it."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import responses

from courtsync.calendars.base import read_whole
from courtsync.calendars.ews import EwsSource
from courtsync.config.mail import ExchangeConfig
from courtsync.errors import ConfigError, SourceError
from courtsync.sync.engine import window_for
from tests.mail_fixtures import UTC, availability_answer, ews_mailboxes, expected_busy, server_busy_fault

ENDPOINT = "https://mail.agency.example/EWS/Exchange.asmx"
WINDOW = window_for(date(2026, 11, 23), ZoneInfo("America/Chicago"))
BASE = datetime(2026, 11, 25, tzinfo=UTC)


def settings(**kw: object) -> ExchangeConfig:
    base: dict[str, object] = {"endpoint": ENDPOINT, "username": "AGENCY\\svc-courtsync",
                               "password_env": "COURTSYNC_EWS_PASSWORD", "mode": "free-busy"}
    base.update(kw)
    return ExchangeConfig(**base)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def fresh_protocols(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from exchangelib.protocol import CachingProtocol

    monkeypatch.setenv("COURTSYNC_EWS_PASSWORD", "hunter2-secret")
    CachingProtocol.clear_cache()
    yield
    CachingProtocol.clear_cache()


@pytest.fixture
def ews() -> Iterator[tuple[responses.RequestsMock, list[str]]]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock, []


def serve(mock: responses.RequestsMock, seen: list[str], unknown: set[str] = frozenset(),  # type: ignore[assignment]
          busy_first: int = 0, status: int = 200) -> None:
    def answer(request: object) -> tuple[int, dict[str, str], str]:
        body = request.body.decode() if isinstance(request.body, bytes) else request.body  # type: ignore[attr-defined]
        operation = re.search(r"<m:(\w+)(?:Request)?[ >]", body)
        seen.append(operation.group(1) if operation else "?")
        if status != 200:
            return status, {"Content-Type": "text/html"}, "<html><body>401 Unauthorized</body></html>"
        if "GetUserAvailabilityRequest" not in body:
            return 500, {}, "unexpected request"
        if seen.count("GetUserAvailabilityRequest") <= busy_first:
            return 500, {"Content-Type": "text/xml; charset=utf-8"}, server_busy_fault(1500)
        return 200, {"Content-Type": "text/xml; charset=utf-8"}, availability_answer(body, BASE, unknown)

    mock.add_callback(responses.POST, ENDPOINT, callback=answer)


def busy_by_mailbox(snap: object, mailboxes: dict[str, str]) -> dict[str, list[tuple[str, str]]]:
    by_worker = {wid: email for email, wid in mailboxes.items()}
    return {by_worker[wid]: sorted((i.start.astimezone(UTC).isoformat(), i.status) for i in g.items if i.busy)
            for wid, g in snap.groups.items()}  # type: ignore[attr-defined]


def test_free_busy_for_several_hundred_mailboxes(ews: tuple[responses.RequestsMock, list[str]]) -> None:
    mock, seen = ews
    serve(mock, seen)
    mailboxes = {f"worker{n:03d}@agency.example": f"w{n:03d}" for n in range(250)}
    source = EwsSource("exchange", settings(), mailboxes)
    snap = read_whole(source, WINDOW)
    _, end = source.span(WINDOW)
    assert busy_by_mailbox(snap, mailboxes) == expected_busy(sorted(mailboxes), BASE, end)
    # 250 mailboxes / 100 per request, 180 days / 42-day windows: 3 x 5 requests, nothing else.
    assert seen == ["GetUserAvailabilityRequest"] * 15
    assert snap.round_trips == 15
    privates = [i for g in snap.groups.values() for i in g.items if i.private]
    assert privates and all(i.summary == "(private)" for i in privates)
    every = [i for g in snap.groups.values() for i in g.items]
    assert {i.status for i in every if not i.busy} == {"free"}


def test_missing_mailbox_is_a_problem_for_that_worker(ews: tuple[responses.RequestsMock, list[str]]) -> None:
    mock, seen = ews
    serve(mock, seen, unknown={"gone@agency.example"})
    mailboxes = {"ana@agency.example": "w1", "gone@agency.example": "w2"}
    snap = read_whole(EwsSource("exchange", settings(), mailboxes), WINDOW)
    assert set(snap.groups) == {"w1"}
    (problem,) = snap.problems
    assert problem.location == "mailbox gone@agency.example (w2)" and "no such mailbox" in problem.reason


def test_server_busy_is_waited_out_and_gives_the_same_result(ews: tuple[responses.RequestsMock, list[str]]) -> None:
    mock, seen = ews
    serve(mock, seen, busy_first=2)
    mailboxes = {f"worker{n:03d}@agency.example": f"w{n:03d}" for n in range(120)}
    slept: list[float] = []
    source = EwsSource("exchange", settings(), mailboxes, sleep=slept.append)
    snap = read_whole(source, WINDOW)
    assert slept == [1.5, 1.5]
    _, end = source.span(WINDOW)
    assert busy_by_mailbox(snap, mailboxes) == expected_busy(sorted(mailboxes), BASE, end)
    assert snap.round_trips == 2 * 5 + 2


def test_endless_throttling_stops_within_max_wait(ews: tuple[responses.RequestsMock, list[str]]) -> None:
    mock, seen = ews
    serve(mock, seen, busy_first=1000)
    source = EwsSource("exchange", settings(max_wait="5s"), {"a@agency.example": "w1"}, sleep=lambda s: None)
    with pytest.raises(SourceError) as info:
        read_whole(source, WINDOW)
    assert "slow down" in info.value.message and len(seen) <= 5


def test_wrong_password_fails_in_seconds_naming_the_setting(ews: tuple[responses.RequestsMock, list[str]]) -> None:
    mock, seen = ews
    serve(mock, seen, status=401)
    started = time.monotonic()
    with pytest.raises(SourceError) as info:
        read_whole(EwsSource("exchange", settings(), {"a@agency.example": "w1"}), WINDOW)
    assert time.monotonic() - started < 5
    assert "refused the credentials" in info.value.message and "COURTSYNC_EWS_PASSWORD" in str(info.value)
    assert "hunter2" not in str(info.value) and len(seen) <= 2


def test_missing_password_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COURTSYNC_EWS_PASSWORD")
    with pytest.raises(ConfigError) as info:
        read_whole(EwsSource("exchange", settings(), {"a@agency.example": "w1"}), WINDOW)
    assert "COURTSYNC_EWS_PASSWORD is not set" in info.value.message


def test_requests_carry_only_the_mailboxes_asked(ews: tuple[responses.RequestsMock, list[str]]) -> None:
    mock, seen = ews
    bodies: list[str] = []

    def answer(request: object) -> tuple[int, dict[str, str], str]:
        body = request.body.decode()  # type: ignore[attr-defined]
        bodies.append(body)
        return 200, {"Content-Type": "text/xml; charset=utf-8"}, availability_answer(body, BASE, set())

    mock.add_callback(responses.POST, ENDPOINT, callback=answer)
    read_whole(EwsSource("exchange", settings(), {"ana@agency.example": "w1"}), WINDOW)
    assert all(ews_mailboxes(b) == ["ana@agency.example"] for b in bodies)


def test_calendar_views_read_occurrences_and_apply_the_busy_rules(
        ews: tuple[responses.RequestsMock, list[str]]) -> None:
    from datetime import timedelta

    from tests.mail_fixtures import Held, ews_view_answer

    mock, seen = ews
    start = datetime(2026, 12, 2, 15, tzinfo=UTC)
    window_start = EwsSource("exchange", settings(), {}).span(WINDOW)[0]
    calendars = {"ana@agency.example": [
        Held("a", start, start + timedelta(hours=1), "busy", "Court prep"),
        Held("b", start + timedelta(days=1), start + timedelta(days=1, hours=1), "tentative", "Maybe"),
        Held("c", start + timedelta(days=2), start + timedelta(days=2, hours=1), "free", "Lunch"),
        Held("d", start + timedelta(days=3), start + timedelta(days=3, hours=1), "busy", "Gone", cancelled=True),
        Held("e", start + timedelta(days=5), start + timedelta(days=5, hours=2), "oof", "Therapy", private=True),
        Held("f", window_start - timedelta(hours=1), window_start, "busy", "Ends as the window opens"),
        Held("g", datetime(2026, 12, 10, 6, tzinfo=UTC), datetime(2026, 12, 11, 6, tzinfo=UTC), "oof", "Vacation",
             all_day=True),
    ]}

    def answer(request: object) -> tuple[int, dict[str, str], str]:
        body = request.body.decode()  # type: ignore[attr-defined]
        seen.append(re.search(r"<m:(\w+)", body).group(1))  # type: ignore[union-attr]
        status, text = ews_view_answer(body, calendars, missing={"gone@agency.example"})
        return status, {"Content-Type": "text/xml; charset=utf-8"}, text

    mock.add_callback(responses.POST, ENDPOINT, callback=answer)
    source = EwsSource("exchange", settings(mode="calendar-view"), {"ana@agency.example": "w1",
                                                                   "gone@agency.example": "w2"})
    snap = read_whole(source, WINDOW)
    got = {i.summary: (i.busy, i.flags) for i in snap.groups["w1"].items}
    assert got == {"Court prep": (True, ()), "Maybe": (True, ("tentative",)), "Lunch": (False, ("free",)),
                   "Gone": (False, ("cancelled",)), "(private)": (True, ("out-of-office", "private")),
                   "Vacation": (True, ("out-of-office", "all-day"))}
    vacation = next(i for i in snap.groups["w1"].items if i.summary == "Vacation")
    assert (vacation.start.isoformat(), vacation.end.isoformat()) == ("2026-12-10T00:00:00-06:00",
                                                                      "2026-12-11T00:00:00-06:00")
    assert [p.location for p in snap.problems] == ["mailbox gone@agency.example (w2)"]
    assert "no such mailbox" in snap.problems[0].reason
    # ana: the calendar folder (GetFolder x2), then a FindItem and a GetItem for each month window.
    windows = 6
    assert seen.count("FindItem") == windows and seen.count("GetItem") <= windows


def test_logs_carry_no_soap_subjects_or_passwords(ews: tuple[responses.RequestsMock, list[str]],
                                                  caplog: pytest.LogCaptureFixture) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    mock, seen = ews
    serve(mock, seen)
    read_whole(EwsSource("exchange", settings(), {"worker001@agency.example": "w1"}), WINDOW)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "Home visit" not in text and "hunter2" not in text and "Envelope" not in text


def test_an_exchange_read_stops_at_a_commands_deadline_between_requests(
        ews: tuple[responses.RequestsMock, list[str]]) -> None:
    import time

    from courtsync.errors import DeadlineError

    mock, seen = ews

    def slow(request: object) -> tuple[int, dict[str, str], str]:
        body = request.body.decode() if isinstance(request.body, bytes) else request.body  # type: ignore[attr-defined]
        seen.append("GetUserAvailabilityRequest")
        time.sleep(0.3)   # a slow server: the deadline passes after a request or two
        return 200, {"Content-Type": "text/xml; charset=utf-8"}, availability_answer(body, BASE, set())

    mock.add_callback(responses.POST, ENDPOINT, callback=slow)
    source = EwsSource("exchange", settings(), {f"worker{n:03d}@agency.example": f"w{n:03d}" for n in range(250)})
    source.deadline = time.monotonic() + 0.5
    with pytest.raises(DeadlineError):
        read_whole(source, WINDOW)
    assert 1 <= len(seen) <= 3   # of the 15 requests a whole read makes
