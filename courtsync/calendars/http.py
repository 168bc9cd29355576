"""iCalendar feeds over HTTP(S): timeouts, a whole-request deadline, bounded redirects, no downgrade,
ETag / Last-Modified, size cap."""

from __future__ import annotations

import os
import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from courtsync.calendars.base import Fetched, Group, RawGroup, Window, redact, time_left, within
from courtsync.calendars.files import MAX_BYTES
from courtsync.errors import SourceError
from courtsync.models import SourceKind

if TYPE_CHECKING:
    import requests

TIMEOUT = (10, 60)     # connect, read (seconds)
MAX_REDIRECTS = 5
USER_AGENT = "courtsync/0.1 (+calendar sync for child-welfare protected dates)"


class HttpSource:
    """A court's (or a person's) published calendar URL. webcal:// means https://."""

    def __init__(self, id: str, kind: SourceKind, location: str, owner: str | None = None,
                 case_pattern: str | None = None, session: Any = None) -> None:
        self.id = id
        self.kind = kind
        self.owner = owner
        self.url = re.sub(r"^webcal://", "https://", location.strip(), flags=re.I)
        self.label = redact(self.url)
        self.case_pattern = case_pattern
        self.session = session   # made on first read: `requests` loads only when a feed is fetched
        # time.monotonic() by which the whole read must be done (set by the sync): requests' timeouts are per
        # socket read, so a server trickling a byte every few seconds would otherwise never time out.
        self.deadline: float | None = None

    def fetch(self, window: Window, validators: dict[str, str]) -> Fetched:
        headers = {"User-Agent": USER_AGENT, "Accept": "text/calendar, */*;q=0.5"}
        if validators.get("etag"):
            headers["If-None-Match"] = validators["etag"]
        if validators.get("last_modified"):
            headers["If-Modified-Since"] = validators["last_modified"]
        response, trips = self._headers_within_deadline(headers)
        with response, self._cut_off(response):
            if response.status_code == 304:
                return Fetched(validators=validators, not_modified=True, round_trips=trips)
            if response.status_code != 200:
                raise SourceError(f"{self.label} answered HTTP {response.status_code} {response.reason or ''}"
                                  .rstrip() + ".", hint=_status_hint(response.status_code))
            data = self._body(response)
            fresh = {k: v for k, v in (("etag", response.headers.get("ETag")),
                                       ("last_modified", response.headers.get("Last-Modified"))) if v}
        from courtsync.calendars.ics import Settings, fetch_ics

        fetched = fetch_ics(data, Settings(self.id, self.label, self.kind, window, self.case_pattern))
        fetched.validators = fresh
        fetched.round_trips = trips
        return fetched

    def parse(self, fetched: Fetched, groups: list[RawGroup]) -> dict[str, Group]:
        from courtsync.calendars.ics import parse_ics

        return parse_ics(fetched, groups)

    def _get(self, headers: dict[str, str]) -> tuple[requests.Response, int]:
        import requests

        if self.session is None:
            self.session = requests.Session()
        url, trips = self.url, 0
        for _ in range(MAX_REDIRECTS + 1):
            trips += 1
            left = time_left(self.deadline, self.label)
            timeout = TIMEOUT if left is None else (min(TIMEOUT[0], left), min(TIMEOUT[1], left))
            try:
                response = self.session.get(url, headers=headers, timeout=timeout, allow_redirects=False,
                                            stream=True)
            except requests.Timeout:
                self._past_deadline()
                raise SourceError(f"{self.label} did not answer within {TIMEOUT[1]} s.",
                                  hint="The last good copy is kept; try again later.") from None
            except requests.ConnectionError as exc:
                raise SourceError(f"Cannot connect to {self.label} ({_reason(exc)}).",
                                  hint="Check the address and the network; the last good copy is kept.") from None
            except requests.RequestException as exc:
                raise SourceError(f"Cannot read {self.label} ({type(exc).__name__}).") from None
            if response.status_code in (301, 302, 303, 307, 308) and response.headers.get("Location"):
                target = urljoin(url, response.headers["Location"])
                response.close()
                if url.lower().startswith("https:") and not target.lower().startswith("https:"):
                    raise SourceError(f"{self.label} redirects to an unencrypted address ({redact(target)}); "
                                      "refused.", hint="Ask the court for an https:// address.")
                url = target
                continue
            return response, trips
        raise SourceError(f"{self.label} redirected more than {MAX_REDIRECTS} times.")

    def _body(self, response: requests.Response) -> bytes:
        import requests

        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > MAX_BYTES:
            raise SourceError(f"{self.label} is {int(declared) // 1_000_000} MB, over the "
                              f"{MAX_BYTES // 1_000_000} MB limit for a calendar.")
        chunks, size = [], 0
        try:
            for chunk in response.iter_content(chunk_size=1 << 16):
                size += len(chunk)
                if size > MAX_BYTES:
                    raise SourceError(f"{self.label} sent more than {MAX_BYTES // 1_000_000} MB; refused.")
                chunks.append(chunk)
        except requests.RequestException as exc:
            self._past_deadline()
            raise SourceError(f"{self.label}: the download broke off, truncated ({type(exc).__name__}); the last good "
                              "copy is kept.") from None
        self._past_deadline()   # cut off at the deadline: what came is not the whole calendar
        data = b"".join(chunks)
        if declared and declared.isdigit() and len(data) < int(declared):
            raise SourceError(f"{self.label}: the download is truncated ({len(data)} of {declared} bytes).")
        return data


    def _headers_within_deadline(self, headers: dict[str, str]) -> tuple[requests.Response, int]:
        """_get, waited for no longer than the deadline (a server can trickle its headers); an answer that
        comes after it is closed."""
        return within(self.deadline, self.label, lambda: self._get(headers), lambda got: got[0].close())

    @contextmanager
    def _cut_off(self, response: requests.Response) -> Iterator[None]:
        """Shut the connection down when the deadline passes, so a body that trickles in stops there (a
        blocked socket read returns at once); the read then fails as past its deadline."""
        left = time_left(self.deadline, self.label)
        if left is None:
            yield
            return
        try:
            conn = socket.socket(fileno=_dup(response))
        except (OSError, ValueError, AttributeError):   # no socket to watch (a test double): the timeouts still apply
            yield
            return

        def cut() -> None:
            with suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

        timer = threading.Timer(left, cut)
        timer.daemon = True
        timer.start()
        try:
            yield
        finally:
            timer.cancel()
            conn.close()

    def _past_deadline(self) -> None:
        time_left(self.deadline, self.label)   # DeadlineError if it has passed


def _dup(response: requests.Response) -> int:
    return os.dup(response.raw.fileno())


def _status_hint(status: int) -> str:
    if status in (401, 403):
        return "The feed needs credentials or a new private link; ask the court for the current address."
    if status == 404:
        return "The feed address may have changed; check it in courtsync.toml."
    return "The last good copy is kept; courtsync tries again at the next sync."


def _reason(exc: Exception) -> str:
    text = str(exc)
    for word in ("Name or service not known", "Connection refused", "timed out", "No route to host"):
        if word in text:
            return word.lower()
    return type(exc).__name__
