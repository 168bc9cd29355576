"""What each test mailbox holds, and Graph/EWS answers built from it as Microsoft documents them.

Every mailbox's calendar is derived from its address, so a fake server can answer any request for any
window and a test can state exactly what courtsync must end up with.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import responses

UTC = UTC
TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT = "66666666-7777-8888-9999-000000000000"


@dataclass(frozen=True)
class Held:
    """One item a mailbox holds."""

    key: str
    start: datetime
    end: datetime
    status: str          # Graph showAs / EWS BusyType, lower-case
    subject: str
    private: bool = False
    cancelled: bool = False
    all_day: bool = False


def held(email: str, base: datetime) -> list[Held]:
    """2-5 items per mailbox over the next ~5 months: busy, tentative, free, out of office, private."""
    seed = int(hashlib.sha256(email.encode()).hexdigest()[:8], 16)
    out = []
    kinds = ["busy", "tentative", "free", "oof", "busy"]
    for n in range(2 + seed % 4):
        day = base + timedelta(days=(seed >> (n * 3)) % 150 + n)
        start = day.replace(hour=13 + n % 4, minute=0, second=0, microsecond=0)
        status = kinds[(seed + n) % len(kinds)]
        out.append(Held(key=f"{email}-{n}", start=start, end=start + timedelta(minutes=30 * (1 + n % 3)),
                        status=status, subject=f"Home visit {n}", private=(seed + n) % 7 == 0))
    return out


def expected_busy(emails: list[str], base: datetime, window_end: datetime) -> dict[str, list[tuple[str, str]]]:
    """mailbox -> [(start UTC, status)] of what courtsync must store as busy."""
    out: dict[str, list[tuple[str, str]]] = {}
    for email in emails:
        out[email] = sorted((h.start.isoformat(), h.status) for h in held(email, base)
                            if h.status not in ("free", "workingelsewhere") and not h.cancelled
                            and h.start < window_end)
    return out


# --- Microsoft Graph ------------------------------------------------------------------------------

OPENID = {
    "token_endpoint": f"https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token",
    "authorization_endpoint": f"https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/authorize",
    "issuer": f"https://login.microsoftonline.com/{TENANT}/v2.0",
    "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
}


def graph_time(dt: datetime) -> dict[str, str]:
    return {"dateTime": dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": "UTC"}


def schedule_answer(body: dict[str, Any], base: datetime, unknown: set[str]) -> dict[str, Any]:
    """A getSchedule response (learn.microsoft.com, calendar-getschedule), scheduleItems in the window."""
    start = datetime.fromisoformat(body["startTime"]["dateTime"]).replace(tzinfo=UTC)
    end = datetime.fromisoformat(body["endTime"]["dateTime"]).replace(tzinfo=UTC)
    value = []
    for email in body["schedules"]:
        if email in unknown:
            value.append({"scheduleId": email, "availabilityView": "",
                          "error": {"message": "The specified object was not found in the store., The process "
                                               "failed to get the correct properties.", "responseCode":
                                    "ErrorMailRecipientNotFound"}})
            continue
        items = [h for h in held(email, base) if h.start < end and h.end > start]
        value.append({
            "scheduleId": email, "availabilityView": "0" * 24,
            "scheduleItems": [{"isPrivate": h.private, "status": h.status if h.status != "oof" else "oof",
                               "subject": "" if h.private else h.subject,
                               "location": "" if h.private else "Client home",
                               "isMeeting": False, "isRecurring": False, "isException": False,
                               "isReminderSet": True, "start": graph_time(h.start), "end": graph_time(h.end)}
                              for h in items],
            "workingHours": {"daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
                             "startTime": "08:00:00.0000000", "endTime": "17:00:00.0000000",
                             "timeZone": {"name": "Central Standard Time"}}})
    return {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(microsoft.graph.scheduleInformation)",
            "value": value}


def graph_event(h: Held) -> dict[str, Any]:
    return {"@odata.etag": 'W/"DwAAABYAAAA"', "id": "AAMkAG" + hashlib.sha1(h.key.encode()).hexdigest(),
            "iCalUId": "040000008200E00074C5B7101A82E008" + hashlib.sha1(h.key.encode()).hexdigest().upper(),
            "subject": h.subject, "isAllDay": h.all_day, "isCancelled": h.cancelled, "showAs": h.status,
            "sensitivity": "private" if h.private else "normal", "type": "singleInstance",
            "start": graph_time(h.start), "end": graph_time(h.end), "originalStart": None,
            "location": {"displayName": "Client home", "locationType": "default"}}


def parse_schedule_request(body: bytes) -> dict[str, Any]:
    return json.loads(body)


# --- Exchange Web Services ------------------------------------------------------------------------

SOAP_HEAD = ('<?xml version="1.0" encoding="utf-8"?>'
             '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">'
             '<s:Header><h:ServerVersionInfo MajorVersion="15" MinorVersion="1" MajorBuildNumber="2507" '
             'MinorBuildNumber="6" Version="V2017_07_11" '
             'xmlns:h="http://schemas.microsoft.com/exchange/services/2006/types" '
             'xmlns="http://schemas.microsoft.com/exchange/services/2006/types" '
             'xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
             'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/></s:Header><s:Body>')
SOAP_TAIL = "</s:Body></s:Envelope>"
M = "http://schemas.microsoft.com/exchange/services/2006/messages"
T = "http://schemas.microsoft.com/exchange/services/2006/types"


def ews_window(body: str) -> tuple[datetime, datetime]:
    start = re.search(r"<t:StartTime>([^<]+)</t:StartTime>", body)
    end = re.search(r"<t:EndTime>([^<]+)</t:EndTime>", body)
    assert start and end, body[:500]
    return (datetime.fromisoformat(start.group(1)[:19]).replace(tzinfo=UTC),
            datetime.fromisoformat(end.group(1)[:19]).replace(tzinfo=UTC))


def ews_mailboxes(body: str) -> list[str]:
    return re.findall(r"<t:Address>([^<]+)</t:Address>", body)


def availability_answer(body: str, base: datetime | None, unknown: set[str]) -> str:
    """A GetUserAvailability response (learn.microsoft.com, getuseravailability-operation), times in UTC."""
    start, end = ews_window(body)
    parts = [SOAP_HEAD, f'<GetUserAvailabilityResponse xmlns="{M}"><FreeBusyResponseArray>']
    for email in ews_mailboxes(body):
        if email in unknown:
            parts.append('<FreeBusyResponse><ResponseMessage ResponseClass="Error"><MessageText>No mailbox with such '
                         'guid.</MessageText><ResponseCode>ErrorMailRecipientNotFound</ResponseCode>'
                         '<DescriptiveLinkKey>0</DescriptiveLinkKey></ResponseMessage>'
                         f'<FreeBusyView><FreeBusyViewType xmlns="{T}">None</FreeBusyViewType></FreeBusyView>'
                         '</FreeBusyResponse>')
            continue
        events = []
        for h in held(email, base):
            if not (h.start < end and h.end > start):
                continue
            busy = {"busy": "Busy", "tentative": "Tentative", "free": "Free", "oof": "OOF"}[h.status]
            subject = "" if h.private else f"<Subject>{h.subject}</Subject><Location>Client home</Location>"
            events.append(f"<CalendarEvent><StartTime>{h.start:%Y-%m-%dT%H:%M:%S}</StartTime>"
                          f"<EndTime>{h.end:%Y-%m-%dT%H:%M:%S}</EndTime><BusyType>{busy}</BusyType>"
                          f"<CalendarEventDetails><ID>00000000{hashlib.sha1(h.key.encode()).hexdigest()}</ID>"
                          f"{subject}<IsMeeting>false</IsMeeting><IsRecurring>false</IsRecurring>"
                          f"<IsException>false</IsException><IsReminderSet>true</IsReminderSet>"
                          f"<IsPrivate>{'true' if h.private else 'false'}</IsPrivate></CalendarEventDetails>"
                          "</CalendarEvent>")
        parts.append('<FreeBusyResponse><ResponseMessage ResponseClass="Success"><ResponseCode>NoError</ResponseCode>'
                     f'</ResponseMessage><FreeBusyView><FreeBusyViewType xmlns="{T}">Detailed</FreeBusyViewType>'
                     f'<CalendarEventArray xmlns="{T}">{"".join(events)}</CalendarEventArray>'
                     f'<WorkingHours xmlns="{T}"><TimeZone><Bias>360</Bias><StandardTime><Bias>0</Bias>'
                     '<Time>02:00:00</Time><DayOrder>1</DayOrder><Month>11</Month><DayOfWeek>Sunday</DayOfWeek>'
                     '</StandardTime><DaylightTime><Bias>-60</Bias><Time>02:00:00</Time><DayOrder>2</DayOrder>'
                     '<Month>3</Month><DayOfWeek>Sunday</DayOfWeek></DaylightTime></TimeZone>'
                     '<WorkingPeriodArray><WorkingPeriod><DayOfWeek>Monday Tuesday Wednesday Thursday Friday'
                     '</DayOfWeek><StartTimeInMinutes>480</StartTimeInMinutes><EndTimeInMinutes>1020'
                     '</EndTimeInMinutes></WorkingPeriod></WorkingPeriodArray></WorkingHours></FreeBusyView>'
                     '</FreeBusyResponse>')
    parts.append("</FreeBusyResponseArray></GetUserAvailabilityResponse>" + SOAP_TAIL)
    return "".join(parts)


def server_busy_fault(back_off_ms: int) -> str:
    """The SOAP fault Exchange sends when it throttles (ErrorServerBusy with BackOffMilliseconds)."""
    return ('<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">'
            '<s:Body><s:Fault><faultcode xmlns:a="http://schemas.microsoft.com/exchange/services/2006/types">'
            'a:ErrorServerBusy</faultcode><faultstring xml:lang="en-US">The server cannot service this request right '
            'now. Try again later.</faultstring><detail><e:ResponseCode '
            'xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">ErrorServerBusy</e:ResponseCode>'
            '<e:Message xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">The server cannot service '
            'this request right now. Try again later.</e:Message><t:MessageXml '
            'xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><t:Value Name="BackOffMilliseconds">'
            f'{back_off_ms}</t:Value></t:MessageXml></detail></s:Fault></s:Body></s:Envelope>')


# --- EWS calendar views: GetFolder, FindItem (CalendarView, ids only), GetItem ---------------------------

EWS_MESSAGES = ('xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" '
                'xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"')


def _folder(distinguished: str) -> str:
    tag = "CalendarFolder" if distinguished == "calendar" else "Folder"
    cls = "IPF.Appointment" if distinguished == "calendar" else "IPF.Note"
    return (f'<t:{tag}><t:FolderId Id="F-{distinguished}" ChangeKey="AQAAAA=="/><t:ParentFolderId Id="F-root" '
            f'ChangeKey="AQAAAA=="/><t:FolderClass>{cls}</t:FolderClass><t:DisplayName>{distinguished.title()}'
            '</t:DisplayName><t:TotalCount>0</t:TotalCount><t:ChildFolderCount>0</t:ChildFolderCount>'
            '<t:EffectiveRights><t:CreateAssociated>true</t:CreateAssociated><t:CreateContents>true</t:CreateContents>'
            '<t:CreateHierarchy>true</t:CreateHierarchy><t:Delete>true</t:Delete><t:Modify>true</t:Modify>'
            '<t:Read>true</t:Read><t:ViewPrivateItems>true</t:ViewPrivateItems></t:EffectiveRights>'
            f'<t:DistinguishedFolderId>{distinguished}</t:DistinguishedFolderId></t:{tag}>')


def _calendar_item(item_id: str, h: Held) -> str:
    status = {"busy": "Busy", "tentative": "Tentative", "free": "Free", "oof": "OOF"}[h.status]
    return (f'<t:CalendarItem><t:ItemId Id="{item_id}" ChangeKey="DwAAAA=="/><t:Subject>{h.subject}</t:Subject>'
            f'<t:Sensitivity>{"Private" if h.private else "Normal"}</t:Sensitivity>'
            f'<t:Start>{h.start.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}</t:Start>'
            f'<t:End>{h.end.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}</t:End>'
            f'<t:IsAllDayEvent>{"true" if h.all_day else "false"}</t:IsAllDayEvent>'
            f'<t:LegacyFreeBusyStatus>{status}</t:LegacyFreeBusyStatus><t:Location>Client home</t:Location>'
            f'<t:IsCancelled>{"true" if h.cancelled else "false"}</t:IsCancelled>'
            f'<t:UID>040000008200E00074C5B7101A82E008{hashlib.sha1(h.key.encode()).hexdigest().upper()}</t:UID>'
            '</t:CalendarItem>')


def ews_view_answer(body: str, calendars: dict[str, list[Held]], missing: set[str]) -> tuple[int, str]:
    """Answers GetFolder, FindItem and GetItem for the impersonated mailbox, as Exchange 2016 does."""
    mailbox = re.search(r"<t:PrimarySmtpAddress>([^<]+)</t:PrimarySmtpAddress>", body)
    email = mailbox.group(1) if mailbox else ""
    op = re.search(r"<m:(\w+)", body)
    name = op.group(1) if op else ""
    if email in missing:
        return 200, (SOAP_HEAD + f'<m:{name}Response {EWS_MESSAGES}><m:ResponseMessages><m:{name}ResponseMessage '
                     'ResponseClass="Error"><m:MessageText>The SMTP address has no mailbox associated with it.'
                     '</m:MessageText><m:ResponseCode>ErrorNonExistentMailbox</m:ResponseCode><m:DescriptiveLinkKey>0'
                     f'</m:DescriptiveLinkKey></m:{name}ResponseMessage></m:ResponseMessages></m:{name}Response>'
                     + SOAP_TAIL)
    held_items = calendars.get(email, [])
    if name == "GetFolder":
        ids = re.findall(r'DistinguishedFolderId Id="(\w+)"', body)
        messages = "".join('<m:GetFolderResponseMessage ResponseClass="Success"><m:ResponseCode>NoError'
                           f'</m:ResponseCode><m:Folders>{_folder(i)}</m:Folders></m:GetFolderResponseMessage>'
                           for i in ids)
        return 200, (SOAP_HEAD + f'<m:GetFolderResponse {EWS_MESSAGES}><m:ResponseMessages>{messages}'
                     '</m:ResponseMessages></m:GetFolderResponse>' + SOAP_TAIL)
    if name == "FindItem":
        view = re.search(r'StartDate="([^"]+)" EndDate="([^"]+)"', body)
        assert view
        start = datetime.fromisoformat(view.group(1).replace("Z", "+00:00"))
        end = datetime.fromisoformat(view.group(2).replace("Z", "+00:00"))
        # Like Exchange, the view also returns an item that ends exactly when the window starts.
        hits = [n for n, h in enumerate(held_items) if h.start < end and h.end >= start]
        items = "".join(f'<t:CalendarItem><t:ItemId Id="{email}|{n}" ChangeKey="DwAAAA=="/></t:CalendarItem>'
                        for n in hits)
        return 200, (SOAP_HEAD + f'<m:FindItemResponse {EWS_MESSAGES}><m:ResponseMessages>'
                     '<m:FindItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>'
                     f'<m:RootFolder TotalItemsInView="{len(hits)}" IncludesLastItemInRange="true"><t:Items>{items}'
                     '</t:Items></m:RootFolder></m:FindItemResponseMessage></m:ResponseMessages></m:FindItemResponse>'
                     + SOAP_TAIL)
    if name == "GetItem":
        ids = re.findall(r'<t:ItemId Id="([^"]+)"', body)
        messages = "".join('<m:GetItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError'
                           f'</m:ResponseCode><m:Items>{_calendar_item(i, held_items[int(i.split("|")[1])])}'
                           '</m:Items></m:GetItemResponseMessage>' for i in ids)
        return 200, (SOAP_HEAD + f'<m:GetItemResponse {EWS_MESSAGES}><m:ResponseMessages>{messages}'
                     '</m:ResponseMessages></m:GetItemResponse>' + SOAP_TAIL)
    return 500, "unexpected request"


# --- Sending through Exchange (EWS CreateItem, SendOnly) -------------------------------------------------

EWS_ENDPOINT = "https://mail.agency.example/EWS/Exchange.asmx"


def sending_through_exchange(example_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The example with [exchange] (free-busy reads, send_as) and no [smtp]: mail goes through EWS CreateItem."""
    from exchangelib.protocol import CachingProtocol

    monkeypatch.setenv("COURTSYNC_EWS_PASSWORD", "pw")
    CachingProtocol.clear_cache()
    toml = example_dir / "courtsync.toml"
    toml.write_text(toml.read_text() + f'\n[exchange]\nendpoint = "{EWS_ENDPOINT}"\n'
                                       'username = "AGENCY\\\\svc-courtsync"\npassword_env = "COURTSYNC_EWS_PASSWORD"\n'
                                       'send_as = "lc@agency.example"\nmode = "free-busy"\n')
    return toml


Answer = tuple[int, dict[str, str], str]


def created() -> Answer:
    """CreateItem answered: the message was sent."""
    return 200, {"Content-Type": "text/xml"}, (
        SOAP_HEAD + f'<m:CreateItemResponse {EWS_MESSAGES}><m:ResponseMessages><m:CreateItemResponseMessage '
        'ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Items/>'
        '</m:CreateItemResponseMessage></m:ResponseMessages></m:CreateItemResponse>' + SOAP_TAIL)


def create_refused(code: str) -> Answer:
    """CreateItem answered with an error response (ResponseClass="Error"): Exchange took the request and did not
    send the message."""
    return 200, {"Content-Type": "text/xml"}, (
        SOAP_HEAD + f'<m:CreateItemResponse {EWS_MESSAGES}><m:ResponseMessages><m:CreateItemResponseMessage '
        f'ResponseClass="Error"><m:MessageText>The item could not be saved.</m:MessageText><m:ResponseCode>{code}'
        '</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey><m:Items/></m:CreateItemResponseMessage>'
        '</m:ResponseMessages></m:CreateItemResponse>' + SOAP_TAIL)


@dataclass
class FakeEws:
    """Exchange as `responses` answers it: free-busy reads (GetUserAvailability), the sender's root folder
    (GetFolder), and CreateItem, answered by `create` (given the recipient; default: sent) and recorded."""

    create: Callable[[str], Answer] = lambda recipient: created()
    base: datetime = datetime(2026, 11, 25, tzinfo=UTC)
    sent: list[str] = field(default_factory=list)        # the recipient of each CreateItem, in order
    folders: int = 0                                     # GetFolder requests (the check before sending)

    def __call__(self, request: Any) -> Answer:
        body = request.body.decode()
        if "<m:CreateItem" in body:
            assert 'MessageDisposition="SendOnly"' in body
            found = re.search(r"<t:EmailAddress>([^<]+)</t:EmailAddress>", body.split("ToRecipients")[1])
            assert found, body[:500]
            self.sent.append(found.group(1))
            return self.create(found.group(1))
        if "<m:GetFolder" in body:
            self.folders += 1
            return 200, {"Content-Type": "text/xml"}, ews_view_answer(body, {}, set())[1]
        return 200, {"Content-Type": "text/xml"}, availability_answer(body, self.base, set())

    def serve(self, mock: Any) -> FakeEws:
        mock.add_callback(responses.POST, EWS_ENDPOINT, callback=self)
        return self
