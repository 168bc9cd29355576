"""Exchange Online over Microsoft Graph: an app-only msal token, getSchedule or calendarView, 429 honoured.

msal is imported here only. Requests go through `requests`, so tests replay Graph with `responses`.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Protocol
from urllib.parse import quote

import requests

from courtsync.calendars.base import within
from courtsync.calendars.mailbox import MailboxItem, MailboxResult, MailboxSource, MailSettings, batches, windows
from courtsync.errors import ConfigError, SourceError

GRAPH = "https://graph.microsoft.com/v1.0"
SCHEDULES_PER_CALL = 20               # getSchedule: at most 20 schedules
SCHEDULE_SPAN = timedelta(days=60)    # getSchedule: a window under 62 days
TIMEOUT = (10, 60)
MAX_RETRIES = 6
SIGN_IN_SECONDS = 60.0                # the longest a sign-in (msal's token request) is waited for
SELECT = "id,iCalUId,subject,start,end,isAllDay,showAs,isCancelled,sensitivity,location,type,originalStart"


class GraphSettings(MailSettings, Protocol):
    """The [graph] table (config.schema.GraphConfig)."""

    @property
    def tenant_id(self) -> str: ...
    @property
    def client_id(self) -> str: ...
    @property
    def client_secret_env(self) -> str: ...


class GraphSource(MailboxSource):
    def __init__(self, id: str, settings: GraphSettings, mailboxes: dict[str, str],
                 sleep: Callable[[float], None] | None = None, session: requests.Session | None = None) -> None:
        kwargs = {"sleep": sleep} if sleep else {}
        super().__init__(id, "graph", f"Microsoft Graph (tenant {settings.tenant_id})", mailboxes, settings.horizon,
                         settings.max_wait, **kwargs)
        self.settings = settings
        self.mode = settings.mode
        self.session = session or requests.Session()
        self._token: str | None = None

    def _bearer(self) -> str:
        if self._token:
            return self._token
        import msal

        s = self.settings
        secret = os.environ.get(s.client_secret_env)
        if not secret:
            raise ConfigError(f"The environment variable {s.client_secret_env} is not set.",
                              hint=f"Export the app registration's client secret as {s.client_secret_env} "
                                   "([graph] client_secret_env).")

        def sign_in() -> Any:
            app = msal.ConfidentialClientApplication(s.client_id, client_credential=secret,
                                                     authority=f"https://login.microsoftonline.com/{s.tenant_id}",
                                                     http_client=self.session)
            return app.acquire_token_for_client(scopes=["https://graph.microsoft.com/.default"])

        # msal sends through our session without a timeout of its own: a hung sign-in endpoint is waited for
        # until the deadline, and never longer than SIGN_IN_SECONDS.
        until = time.monotonic() + SIGN_IN_SECONDS
        try:
            result = within(until if self.deadline is None else min(until, self.deadline),
                            f"Microsoft Entra sign-in for tenant {s.tenant_id}", sign_in)
        except (ValueError, requests.RequestException) as exc:
            raise SourceError(f"Cannot sign in to Microsoft Entra for tenant {s.tenant_id} ({type(exc).__name__}).",
                              hint="Check [graph] tenant_id and the network.") from None
        self.round_trips += 2
        if "access_token" not in result:
            code = result.get("error", "unknown_error")
            hint = (f"The client secret in ${s.client_secret_env} is wrong or expired; create a new one for app "
                    f"{s.client_id} and export it." if code in ("invalid_client", "unauthorized_client")
                    else "Check [graph] tenant_id and client_id.")
            raise SourceError(f"Microsoft Entra refused the app {s.client_id} ({code}).", hint=hint)
        self._token = str(result["access_token"])
        return self._token

    def _request(self, method: str, url: str, what: str, **kw: Any) -> requests.Response:
        """One Graph call: 429/503 waited out per Retry-After within max_wait; 401 named; bodies never logged."""
        for _ in range(MAX_RETRIES):
            self.round_trips += 1
            headers = {"Authorization": f"Bearer {self._bearer()}", "Prefer": 'outlook.timezone="UTC"'}
            left = self.time_left()
            timeout = TIMEOUT if left is None else (min(TIMEOUT[0], left), min(TIMEOUT[1], left))
            try:
                # requests' timeouts bound each socket read: an answer that trickles in is cut at the deadline
                response = within(self.deadline, "Microsoft Graph", partial(
                    self.session.request, method, url, headers=headers, timeout=timeout, **kw),
                    lambda late: late.close())
            except requests.RequestException as exc:
                self.time_left()   # a timeout cut short by the deadline is the deadline's
                raise SourceError(f"Cannot reach Microsoft Graph for {what} ({type(exc).__name__}).",
                                  hint="The last good copy is kept; try again later.") from None
            if response.status_code in (429, 503, 504):
                retry = response.headers.get("Retry-After", "10")
                self.throttle.wait(float(retry) if retry.isdigit() else 10.0, "Microsoft Graph", self.time_left())
                continue
            if response.status_code == 401:
                raise SourceError("Microsoft Graph refused the token (401).",
                                  hint="Check the app's Calendars.Read permission and "
                                       f"${self.settings.client_secret_env}.")
            return response
        raise SourceError(f"Microsoft Graph kept failing for {what} after {MAX_RETRIES} tries.")

    def free_busy(self, emails: list[str], start: datetime, end: datetime) -> Iterator[MailboxResult]:
        found: dict[str, list[MailboxItem]] = {e: [] for e in emails}
        errors: dict[str, str] = {}
        for batch in batches(emails, SCHEDULES_PER_CALL):
            for ws, we in windows(start, end, SCHEDULE_SPAN):
                body = {"schedules": batch, "availabilityViewInterval": 60,
                        "startTime": {"dateTime": ws.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
                        "endTime": {"dateTime": we.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}}
                response = self._request("POST", f"{GRAPH}/users/{quote(batch[0])}/calendar/getSchedule",
                                         "getSchedule", json=body)
                if response.status_code != 200:
                    raise SourceError(f"Microsoft Graph getSchedule answered HTTP {response.status_code}: "
                                      f"{_graph_error(response)}.")
                for entry in response.json().get("value", []):
                    email = str(entry.get("scheduleId", "")).lower()
                    if email not in found:
                        continue
                    if entry.get("error"):
                        errors[email] = str(entry["error"].get("message") or entry["error"].get("responseCode"))
                        continue
                    for s in entry.get("scheduleItems", []):
                        found[email].append(_from_schedule(s))
        for email in emails:
            yield MailboxResult(email, None, errors[email]) if email in errors else MailboxResult(email, found[email])

    def calendar_view(self, email: str, start: datetime, end: datetime) -> MailboxResult:
        url: str | None = (f"{GRAPH}/users/{quote(email)}/calendarView?startDateTime={start:%Y-%m-%dT%H:%M:%SZ}"
                           f"&endDateTime={end:%Y-%m-%dT%H:%M:%SZ}&$select={SELECT}&$top=500")
        items: list[MailboxItem] = []
        while url:
            response = self._request("GET", url, "calendarView")
            if response.status_code in (403, 404):
                return MailboxResult(email, None, _graph_error(response))
            if response.status_code != 200:
                raise SourceError(f"Microsoft Graph calendarView answered HTTP {response.status_code}: "
                                  f"{_graph_error(response)}.")
            page = response.json()
            items.extend(_from_event(e) for e in page.get("value", []))
            url = page.get("@odata.nextLink")  # carries the query: follow it as given
        return MailboxResult(email, items)


def _graph_error(response: requests.Response) -> str:
    try:
        error = response.json().get("error", {})
        return f"{error.get('code', 'error')}: {error.get('message', '')}".strip().rstrip(":")
    except ValueError:
        return f"HTTP {response.status_code}"


def _when(value: dict[str, str]) -> datetime:
    text = value["dateTime"].split(".")[0]
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _from_schedule(item: dict[str, Any]) -> MailboxItem:
    start, end = _when(item["start"]), _when(item["end"])
    digest = hashlib.blake2b(f"{start}|{end}|{item.get('subject', '')}".encode(), digest_size=8).hexdigest()
    return MailboxItem(uid=f"schedule-{digest}", start=start, end=end,
                       status=str(item.get("status", "busy")), private=bool(item.get("isPrivate")),
                       subject=str(item.get("subject") or ""), location=str(item.get("location") or ""))


def _from_event(event: dict[str, Any]) -> MailboxItem:
    start, end = _when(event["start"]), _when(event["end"])
    location = event.get("location") or {}
    return MailboxItem(uid=str(event.get("iCalUId") or event.get("id")), start=start, end=end,
                       status=str(event.get("showAs", "busy")), all_day=bool(event.get("isAllDay")),
                       cancelled=bool(event.get("isCancelled")),
                       private=str(event.get("sensitivity", "normal")).lower() in ("private", "confidential"),
                       subject=str(event.get("subject") or ""), location=str(location.get("displayName") or ""),
                       instance=str(event.get("originalStart") or ""))
