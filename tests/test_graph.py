"""Microsoft Graph source against `responses` replaying Entra and Graph as they answer."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pytest
import responses

from courtsync.calendars.base import Window, read_whole
from courtsync.calendars.graph import GraphSource
from courtsync.config.mail import GraphConfig
from courtsync.errors import ConfigError, SourceError
from courtsync.sync.engine import window_for
from courtsync.sync.readers import compare
from tests.calendar_helpers import stored_after
from tests.mail_fixtures import CLIENT, OPENID, TENANT, UTC, expected_busy, graph_event, held, schedule_answer
from tests.mail_fixtures import Held as HeldItem

TODAY = date(2026, 11, 23)
WINDOW: Window = window_for(TODAY, __import__("zoneinfo").ZoneInfo("America/Chicago"))
BASE = datetime(2026, 11, 25, tzinfo=UTC)
GRAPH = "https://graph.microsoft.com/v1.0"


def settings(**kw: object) -> GraphConfig:
    return GraphConfig(tenant_id=TENANT, client_id=CLIENT, client_secret_env="COURTSYNC_GRAPH_SECRET", **kw)


@pytest.fixture
def graph(monkeypatch: pytest.MonkeyPatch) -> Iterator[responses.RequestsMock]:
    monkeypatch.setenv("COURTSYNC_GRAPH_SECRET", "s3cr3t-value")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(f"https://login.microsoftonline.com/{TENANT}/v2.0/.well-known/openid-configuration", json=OPENID)
        mock.post(OPENID["token_endpoint"], json={"token_type": "Bearer", "expires_in": 3599,
                                                  "access_token": "eyJ0eXAiOiJKV1Qi.fake.token"})
        # msal asks the instance-discovery endpoint after a refused token request.
        mock.get(__import__("re").compile(r"https://login\.microsoftonline\.com/common/discovery/instance\?.*"),
                 json={"tenant_discovery_endpoint": f"https://login.microsoftonline.com/{TENANT}/v2.0/.well-known/"
                                                    "openid-configuration", "api-version": "1.1",
                       "metadata": [{"preferred_network": "login.microsoftonline.com",
                                     "preferred_cache": "login.windows.net",
                                     "aliases": ["login.microsoftonline.com", "login.windows.net"]}]})
        yield mock


def schedule_server(mock: responses.RequestsMock, unknown: set[str] = frozenset(),  # type: ignore[assignment]
                    throttle_first: int = 0) -> list[dict]:  # type: ignore[type-arg]
    calls: list[dict] = []  # type: ignore[type-arg]

    def answer(request: object) -> tuple[int, dict[str, str], str]:
        body = json.loads(request.body)  # type: ignore[attr-defined]
        calls.append(body)
        assert request.headers["Authorization"] == "Bearer eyJ0eXAiOiJKV1Qi.fake.token"  # type: ignore[attr-defined]
        if len(calls) <= throttle_first:
            return 429, {"Retry-After": "2"}, json.dumps({"error": {"code": "ApplicationThrottled",
                                                                    "message": "Application is over its limit."}})
        return 200, {}, json.dumps(schedule_answer(body, BASE, unknown))

    mock.add_callback(responses.POST, __import__("re").compile(rf"{GRAPH}/users/[^/]+/calendar/getSchedule"),
                      callback=answer)
    return calls


def busy_by_mailbox(snap: object, mailboxes: dict[str, str]) -> dict[str, list[tuple[str, str]]]:
    by_worker = {wid: email for email, wid in mailboxes.items()}
    out: dict[str, list[tuple[str, str]]] = {}
    for wid, group in snap.groups.items():  # type: ignore[attr-defined]
        out[by_worker[wid]] = sorted((i.start.astimezone(UTC).isoformat(), i.status) for i in group.items if i.busy)
    return out


def test_getschedule_for_several_hundred_mailboxes(graph: responses.RequestsMock) -> None:
    mailboxes = {f"worker{n:03d}@agency.example": f"w{n:03d}" for n in range(300)}
    calls = schedule_server(graph)
    source = GraphSource("graph", settings(), mailboxes)
    snap = read_whole(source, WINDOW)
    start, end = source.span(WINDOW)
    assert busy_by_mailbox(snap, mailboxes) == expected_busy(sorted(mailboxes), BASE, end)
    # 300 mailboxes / 20 per call, 180 days / 60-day windows, plus discovery and token: the protocol minimum.
    assert len(calls) == 15 * 3
    assert snap.round_trips == 45 + 2
    assert all(len(c["schedules"]) <= 20 for c in calls)
    spans = {(c["startTime"]["dateTime"], c["endTime"]["dateTime"]) for c in calls}
    assert all(datetime.fromisoformat(b) - datetime.fromisoformat(a) < timedelta(days=62) for a, b in spans)
    privates = [i for g in snap.groups.values() for i in g.items if i.private]
    assert privates and all(i.summary == "(private)" and i.location == "" for i in privates)
    assert all(g.items and g.items[0].worker_ids for g in snap.groups.values() if g.items)


def test_unknown_mailbox_is_a_problem_for_that_worker_only(graph: responses.RequestsMock) -> None:
    mailboxes = {"ana@agency.example": "w1", "gone@agency.example": "w2", "ben@agency.example": "w3"}
    schedule_server(graph, unknown={"gone@agency.example"})
    snap = read_whole(GraphSource("graph", settings(mode="free-busy"), mailboxes), WINDOW)
    assert set(snap.groups) == {"w1", "w3"}
    (problem,) = snap.problems
    assert problem.location == "mailbox gone@agency.example (w2)" and "not found" in problem.reason


def test_throttling_is_honoured_and_gives_the_same_answer(graph: responses.RequestsMock) -> None:
    mailboxes = {f"worker{n:03d}@agency.example": f"w{n:03d}" for n in range(30)}
    schedule_server(graph, throttle_first=2)
    slept: list[float] = []
    throttled = read_whole(GraphSource("graph", settings(mode="free-busy"), mailboxes, sleep=slept.append), WINDOW)
    assert slept == [2.0, 2.0]
    start, end = GraphSource("graph", settings(), mailboxes).span(WINDOW)
    assert busy_by_mailbox(throttled, mailboxes) == expected_busy(sorted(mailboxes), BASE, end)


def test_throttling_beyond_max_wait_gives_up_clearly(graph: responses.RequestsMock) -> None:
    schedule_server(graph, throttle_first=100)
    source = GraphSource("graph", settings(mode="free-busy", max_wait="3s"), {"a@agency.example": "w1"},
                         sleep=lambda s: None)
    with pytest.raises(SourceError) as info:
        read_whole(source, WINDOW)
    assert "slow down" in info.value.message


def test_wrong_secret_fails_fast_naming_the_setting(graph: responses.RequestsMock) -> None:
    graph.replace(responses.POST, OPENID["token_endpoint"], status=401,
                  json={"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret "
                                                                        "provided.", "error_codes": [7000215]})
    started = time.monotonic()
    with pytest.raises(SourceError) as info:
        read_whole(GraphSource("graph", settings(), {"a@agency.example": "w1"}), WINDOW)
    assert time.monotonic() - started < 5
    assert "invalid_client" in info.value.message and "COURTSYNC_GRAPH_SECRET" in str(info.value)
    assert "s3cr3t-value" not in str(info.value)


def test_missing_secret_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COURTSYNC_GRAPH_SECRET", raising=False)
    with pytest.raises(ConfigError) as info:
        read_whole(GraphSource("graph", settings(), {"a@agency.example": "w1"}), WINDOW)
    assert "COURTSYNC_GRAPH_SECRET is not set" in info.value.message


def test_calendar_view_follows_every_page_and_applies_the_busy_rules(graph: responses.RequestsMock) -> None:
    start = datetime(2026, 12, 2, 15, tzinfo=UTC)
    items = [HeldItem("a", start, start + timedelta(hours=1), "busy", "Court prep"),
             HeldItem("b", start + timedelta(days=1), start + timedelta(days=1, hours=1), "tentative", "Maybe"),
             HeldItem("c", start + timedelta(days=2), start + timedelta(days=2, hours=1), "free", "Lunch"),
             HeldItem("d", start + timedelta(days=3), start + timedelta(days=3, hours=1), "busy", "Gone",
                      cancelled=True),
             HeldItem("e", datetime(2026, 12, 10, tzinfo=UTC), datetime(2026, 12, 11, tzinfo=UTC), "oof", "Vacation",
                      all_day=True),
             HeldItem("f", start + timedelta(days=5), start + timedelta(days=5, hours=2), "busy", "Therapy",
                      private=True)]
    next_link = f"{GRAPH}/users/ana%40agency.example/calendarView?$skiptoken=page2"
    graph.get(next_link, json={"value": [graph_event(h) for h in items[3:]]})
    graph.get(__import__("re").compile(rf"{GRAPH}/users/ana%40agency\.example/calendarView\?startDateTime=.*"),
              json={"value": [graph_event(h) for h in items[:3]], "@odata.nextLink": next_link})
    graph.get(__import__("re").compile(rf"{GRAPH}/users/gone%40agency\.example/calendarView.*"), status=404,
              json={"error": {"code": "ErrorItemNotFound", "message": "The specified object was not found."}})
    source = GraphSource("graph", settings(mode="calendar-view"), {"ana@agency.example": "w1",
                                                                   "gone@agency.example": "w2"})
    snap = read_whole(source, WINDOW)
    got = {i.summary: (i.busy, i.flags) for i in snap.groups["w1"].items}
    assert got == {"Court prep": (True, ()), "Maybe": (True, ("tentative",)), "Lunch": (False, ("free",)),
                   "Gone": (False, ("cancelled",)), "Vacation": (True, ("out-of-office", "all-day")),
                   "(private)": (True, ("private",))}
    vacation = next(i for i in snap.groups["w1"].items if i.summary == "Vacation")
    assert vacation.start.isoformat() == "2026-12-10T00:00:00-06:00"
    assert vacation.end.isoformat() == "2026-12-11T00:00:00-06:00"
    assert [p.location for p in snap.problems] == ["mailbox gone@agency.example (w2)"]
    assert snap.round_trips == 2 + 3  # token, then two pages for ana and one for gone


def test_an_unchanged_mailbox_is_not_rewritten(graph: responses.RequestsMock) -> None:
    mailboxes = {f"worker{n:03d}@agency.example": f"w{n:03d}" for n in range(25)}
    schedule_server(graph)
    first = GraphSource("graph", settings(mode="free-busy"), mailboxes).fetch(WINDOW, {})
    again = GraphSource("graph", settings(mode="free-busy"), mailboxes).fetch(WINDOW, {})
    assert compare(again, stored_after(first)) == ([], {})   # nothing to parse, nothing to write


def test_held_items_are_in_the_window() -> None:
    assert held("worker000@agency.example", BASE)


def test_logs_carry_no_bodies_subjects_or_secrets(graph: responses.RequestsMock,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    schedule_server(graph)
    read_whole(GraphSource("graph", settings(mode="free-busy"), {"worker001@agency.example": "w1"}), WINDOW)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "Home visit" not in text and "s3cr3t-value" not in text and "fake.token" not in text


def test_a_graph_read_stops_at_a_commands_deadline_between_mailboxes(graph: responses.RequestsMock) -> None:
    from courtsync.errors import DeadlineError

    asked: list[str] = []

    def slow(request: object) -> tuple[int, dict[str, str], str]:
        asked.append(str(request.url))  # type: ignore[attr-defined]
        time.sleep(0.5)   # a slow mailbox: the deadline passes while it answers
        return 200, {}, json.dumps({"value": []})

    graph.add_callback(responses.GET, __import__("re").compile(rf"{GRAPH}/users/.*/calendarView.*"), callback=slow)
    source = GraphSource("graph", settings(mode="calendar-view"), {"ana@agency.example": "w1",
                                                                   "bo@agency.example": "w2"})
    source.deadline = time.monotonic() + 0.3
    started = time.monotonic()
    with pytest.raises(DeadlineError):
        read_whole(source, WINDOW)
    assert time.monotonic() - started < 1.5 and len(asked) == 1   # the second mailbox was not asked
