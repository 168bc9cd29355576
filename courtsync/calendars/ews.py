"""On-premises Exchange over EWS (exchangelib): free/busy for many mailboxes at once, or calendar views.

exchangelib is imported here only, and only when an [exchange] source is read. Every request uses
FailFast, so a wrong password fails in seconds instead of exchangelib's hour of retries; throttling
(ErrorServerBusy) is honoured here, within max_wait for the whole run.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, time, timedelta
from typing import Any, Literal, Protocol

from courtsync.calendars.base import redact, within
from courtsync.calendars.mailbox import MailboxItem, MailboxResult, MailboxSource, MailSettings, batches, windows
from courtsync.errors import ConfigError, SourceError

FREE_BUSY_MAILBOXES = 100            # GetUserAvailability: mailboxes per request
FREE_BUSY_SPAN = timedelta(days=42)  # GetUserAvailability: longest window per request
VIEW_SPAN = timedelta(days=31)       # calendar views are asked a month at a time (1000-item cap)
VIEW_MAX_ITEMS = 1000
VIEW_FIELDS = ("uid", "start", "end", "is_all_day", "legacy_free_busy_status", "subject", "location", "sensitivity",
               "is_cancelled", "recurrence_id")

logging.getLogger("exchangelib").setLevel(logging.WARNING)  # DEBUG would dump SOAP bodies with subjects


class EwsSettings(MailSettings, Protocol):
    """The [exchange] table (config.schema.ExchangeConfig)."""

    @property
    def endpoint(self) -> str: ...
    @property
    def username(self) -> str | None: ...
    @property
    def password_env(self) -> str | None: ...
    @property
    def auth(self) -> Literal["ntlm", "basic", "oauth"]: ...
    @property
    def access(self) -> Literal["impersonation", "delegate"]: ...
    @property
    def version(self) -> Literal["Exchange2013", "Exchange2016", "Exchange2019"]: ...
    @property
    def tenant_id(self) -> str | None: ...
    @property
    def client_id(self) -> str | None: ...
    @property
    def client_secret_env(self) -> str | None: ...


class EwsSource(MailboxSource):
    def __init__(self, id: str, settings: EwsSettings, mailboxes: dict[str, str],
                 sleep: Callable[[float], None] | None = None) -> None:
        kwargs = {"sleep": sleep} if sleep else {}
        # The endpoint may carry user:password or a key in its query: shown and stored only as its label.
        super().__init__(id, "exchange", redact(settings.endpoint), mailboxes, settings.horizon, settings.max_wait,
                         **kwargs)
        self.settings = settings
        self.mode = settings.mode
        self._config: Any = None

    # --- connection ---------------------------------------------------------------------------

    def _configuration(self) -> Any:
        if self._config is not None:
            return self._config
        from exchangelib import BASIC, NTLM, OAUTH2, Build, Configuration, Credentials, FailFast, Version
        from exchangelib.credentials import OAuth2Credentials

        s = self.settings
        if s.auth == "oauth":
            secret = os.environ.get(s.client_secret_env or "")
            if not secret:
                raise ConfigError(f"The environment variable {s.client_secret_env} is not set.",
                                  hint=f"Export the Exchange OAuth client secret as {s.client_secret_env} "
                                       "([exchange] client_secret_env).")
            credentials: Any = OAuth2Credentials(client_id=s.client_id, client_secret=secret, tenant_id=s.tenant_id)
        else:
            password = os.environ.get(s.password_env or "")
            if not password:
                raise ConfigError(f"The environment variable {s.password_env} is not set.",
                                  hint=f"Export the password of {s.username} as {s.password_env} "
                                       "([exchange] password_env).")
            credentials = Credentials(s.username, password)
        build = {"Exchange2013": Build(15, 0), "Exchange2016": Build(15, 1), "Exchange2019": Build(15, 2)}[s.version]
        self._config = Configuration(service_endpoint=s.endpoint, credentials=credentials,
                                     auth_type={"ntlm": NTLM, "basic": BASIC, "oauth": OAUTH2}[s.auth],
                                     version=Version(build=build), retry_policy=FailFast())
        return self._config

    def _call(self, what: str, fn: Callable[[], Any]) -> Any:
        """One EWS request, translated: throttling waited out (bounded), auth and transport failures named."""
        from exchangelib.errors import (
            ErrorAccessDenied,
            ErrorImpersonateUserDenied,
            ErrorNonExistentMailbox,
            ErrorServerBusy,
            RateLimitError,
            TransportError,
            UnauthorizedError,
        )

        while True:
            self.time_left()
            self.round_trips += 1
            try:
                # exchangelib allows each request 120 s: waited for no longer than the deadline, in a thread.
                return within(self.deadline, self.label, fn)
            except ErrorServerBusy as exc:
                back_off = getattr(exc, "back_off", None) or 30
                self.throttle.wait(float(back_off), f"Exchange at {self.label}", self.time_left())
            except UnauthorizedError:
                who = self.settings.username or self.settings.client_id
                setting = self.settings.password_env or self.settings.client_secret_env
                raise SourceError(f"Exchange at {self.label} refused the credentials of {who}.",
                                  hint=f"Check the secret in ${setting} ([exchange] auth = "
                                       f"\"{self.settings.auth}\"); courtsync stops at the first refusal so the "
                                       "account is not locked out.") from None
            except (ErrorNonExistentMailbox, ErrorImpersonateUserDenied, ErrorAccessDenied):
                raise  # one mailbox's problem: the caller reports it for that worker
            except RateLimitError as exc:   # its text holds the full URL
                raise SourceError(f"Exchange at {self.label} is throttling {what} (gave up after "
                                  f"{getattr(exc, 'total_wait', 0):.0f} s).") from None
            except TransportError as exc:
                raise SourceError(f"Cannot reach Exchange at {self.label} ({type(exc).__name__}).",
                                  hint="Check [exchange] endpoint and the network; the last good copy is kept.") \
                    from None

    # --- reading ------------------------------------------------------------------------------

    def free_busy(self, emails: list[str], start: datetime, end: datetime) -> Iterator[MailboxResult]:
        from exchangelib import EWSDateTime, EWSTimeZone
        from exchangelib.properties import (
            DaylightTime,
            FreeBusyViewOptions,
            MailboxData,
            StandardTime,
            TimeWindow,
            TimeZone,
        )
        from exchangelib.protocol import Protocol
        from exchangelib.services import GetUserAvailability

        config = self._configuration()
        utc = EWSTimeZone("UTC")
        # A UTC availability zone built here: no GetServerTimeZones round trip is needed.
        zone = TimeZone(bias=0, standard_time=StandardTime(bias=0, time=time(2), occurrence=1, iso_month=1,
                                                           weekday=1),
                        daylight_time=DaylightTime(bias=0, time=time(2), occurrence=1, iso_month=1, weekday=1))
        found: dict[str, list[MailboxItem]] = {e: [] for e in emails}
        errors: dict[str, str] = {}
        for batch in batches(emails, FREE_BUSY_MAILBOXES):
            for ws, we in windows(start, end, FREE_BUSY_SPAN):
                options = FreeBusyViewOptions(time_window=TimeWindow(start=_ews_time(ws, utc, EWSDateTime),
                                                                     end=_ews_time(we, utc, EWSDateTime)),
                                              merged_free_busy_interval=30, requested_view="Detailed")
                data = [MailboxData(email=e, attendee_type="Required", exclude_conflicts=False) for e in batch]

                def ask(data: list[Any] = data, options: Any = options) -> list[Any]:
                    return list(GetUserAvailability(protocol=Protocol(config=config)).call(
                        tzinfo=utc, mailbox_data=data, timezone=zone, free_busy_view_options=options))

                for email, view in zip(batch, self._call("free/busy", ask), strict=False):
                    if isinstance(view, Exception):
                        errors[email] = _ews_error(view)
                        continue
                    for event in view.calendar_events or ():
                        found[email].append(_from_free_busy(event))
        for email in emails:
            yield MailboxResult(email, None, errors[email]) if email in errors else MailboxResult(email, found[email])

    def calendar_view(self, email: str, start: datetime, end: datetime) -> MailboxResult:
        from exchangelib import DELEGATE, IMPERSONATION, Account, EWSDateTime, EWSTimeZone
        from exchangelib.errors import ErrorAccessDenied, ErrorImpersonateUserDenied, ErrorNonExistentMailbox

        try:
            account = Account(primary_smtp_address=email, config=self._configuration(), autodiscover=False,
                              access_type=IMPERSONATION if self.settings.access == "impersonation" else DELEGATE,
                              default_timezone=EWSTimeZone("UTC"))
            items: list[MailboxItem] = []
            self.round_trips += 1  # the folder lookup costs two GetFolder requests; _call counts one
            self._call("calendar folder", lambda: account.calendar)
            for ws, we in windows(start, end, VIEW_SPAN):
                utc = EWSTimeZone("UTC")
                view = account.calendar.view(start=_ews_time(ws, utc, EWSDateTime), end=_ews_time(we, utc, EWSDateTime),
                                             max_items=VIEW_MAX_ITEMS).only(*VIEW_FIELDS)
                got: list[Any] = self._call("calendar view", _lister(view))
                if len(got) >= VIEW_MAX_ITEMS:
                    return MailboxResult(email, None, f"more than {VIEW_MAX_ITEMS} items in a month; the view is "
                                                      "truncated")
                items.extend(_from_view(i) for i in got if _ends_after(i, ws))
            return MailboxResult(email, items)
        except (ErrorNonExistentMailbox, ErrorImpersonateUserDenied, ErrorAccessDenied) as exc:
            return MailboxResult(email, None, _ews_error(exc))


def _plain(value: Any) -> datetime:
    """An exchangelib EWSDateTime as a plain aware UTC datetime (exchangelib types stay in this module)."""
    return datetime.fromtimestamp(value.timestamp(), UTC)


def _ews_time(value: datetime, utc: Any, cls: Any) -> Any:
    return cls.from_datetime(value.astimezone(UTC).replace(tzinfo=utc))


def _lister(view: Any) -> Callable[[], list[Any]]:
    return lambda: list(view)


def _ews_error(exc: Exception) -> str:
    name = type(exc).__name__
    text = {"ErrorMailRecipientNotFound": "no such mailbox", "ErrorNonExistentMailbox": "no such mailbox",
            "ErrorImpersonateUserDenied": "the service account may not impersonate this mailbox",
            "ErrorAccessDenied": "access denied"}.get(name, str(exc)[:120])
    return f"{text} ({name})"


def _from_free_busy(event: Any) -> MailboxItem:
    details = event.details
    start, end = _plain(event.start), _plain(event.end)
    subject = (details.subject or "") if details else ""
    digest = hashlib.blake2b(f"{start}|{end}|{subject}".encode(), digest_size=8).hexdigest()
    return MailboxItem(uid=f"freebusy-{digest}", start=start, end=end, status=event.busy_type or "Busy",
                       private=bool(details and details.is_private), subject=subject,
                       location=(details.location or "") if details else "")


def _ends_after(item: Any, window_start: datetime) -> bool:
    """view() also returns items that end exactly at the window start: intervals are half-open."""
    end = item.end
    if not isinstance(end, datetime):
        return True
    return _plain(end) > window_start


def _from_view(item: Any) -> MailboxItem:
    start, end = item.start, item.end
    if not isinstance(start, datetime):
        # All-day: EWSDate values, and EWS gives the *inclusive* last day.
        s = datetime.combine(start, time(), tzinfo=UTC)
        e = datetime.combine(end + timedelta(days=1) if end and end >= start else start + timedelta(days=1), time(),
                             tzinfo=UTC)
        all_day = True
    else:
        s, e, all_day = _plain(start), _plain(end), bool(item.is_all_day)
    rid = getattr(item, "recurrence_id", None)
    return MailboxItem(uid=str(item.uid or item.id), instance=rid.isoformat() if isinstance(rid, datetime) else "",
                       start=s, end=e, status=str(item.legacy_free_busy_status or "Busy"), all_day=all_day,
                       cancelled=bool(item.is_cancelled), private=str(item.sensitivity or "").lower()
                       in ("private", "confidential"), subject=item.subject or "", location=item.location or "")
