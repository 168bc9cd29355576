"""Court notices: who appears before each court, the letter (new or amended), and the record of what was told."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from email import policy
from pathlib import Path
from typing import Any

from courtsync.config.links import calendar_link
from courtsync.context import Context
from courtsync.core.cells import safe_cell
from courtsync.core.letters import LetterDate, changes, dates_to_keep, lateness
from courtsync.errors import ConfigError, UsageError
from courtsync.models import SourceId
from courtsync.notices.letterhead import letterhead as agency_letterhead
from courtsync.notices.letters import Letter, Letterhead, late_text, stated
from courtsync.notices.outbox import RESEND_UNKNOWN, Delivery, Outbox, Outgoing, message_id, new_message
from courtsync.notices.render import for_agency, letter_file_stem, render, write_named
from courtsync.notices.subjects import letter_subject
from courtsync.notices.transport import mail_transport, sender_address, sender_where
from courtsync.queries.attendance import booked_sessions
from courtsync.queries.calendar_view import calendar_view

Now = Callable[[], float]
PERIOD_DAYS = 183


def _staff(ctx: Context, court_id: str, first: date, last: date, view_ids: list[str]) -> dict[str, set[str]]:
    """worker id -> their case numbers before the court: caseload.csv, and the court's own feed."""
    staff: dict[str, set[str]] = {}
    for row in ctx.roster.caseload:
        if row.court_id == court_id:
            staff.setdefault(row.worker_id, set()).add(row.case_number)
    sources = [s for s in view_ids if SourceId.parse(s).court == court_id]
    if sources:
        lo = datetime.combine(first, time(), tzinfo=ctx.config.tz)
        hi = datetime.combine(last + timedelta(days=1), time(), tzinfo=ctx.config.tz)
        for item in ctx.store.items(ctx.config.tz, sources, lo, hi, busy_only=True):
            for wid in item.worker_ids:
                staff.setdefault(wid, set()).update(item.case_numbers)
    return staff


def _dates(ctx: Context, staff: dict[str, set[str]], first: date, last: date) -> list[LetterDate]:
    by_uid: dict[str, tuple[Any, list[tuple[str, str, tuple[str, ...]]]]] = {}
    booked = booked_sessions(ctx, staff)   # a make-up they booked is protected before their courts too
    for wid in sorted(staff):
        worker = ctx.roster.workers.get(wid)
        if worker is None:
            continue
        theirs = [s for cid in worker.collaboratives for s in ctx.sessions[cid]] + booked.get(wid, [])
        for s in theirs:
            if s.active and first <= s.day <= last:
                by_uid.setdefault(s.uid, (s, []))[1].append((worker.id, worker.name, tuple(sorted(staff[wid]))))
    return sorted((LetterDate(s.uid, s.day, s.start, s.end, ctx.collaboratives[s.collaborative_id].name,
                              tuple(sorted(people, key=lambda p: p[1])), s.holiday)
                   for s, people in by_uid.values()), key=lambda d: (d.start.timestamp(), d.collaborative))


def letterhead(ctx: Context) -> Letterhead | None:
    """[agency] as the head of a letter (notices/letterhead.py)."""
    return agency_letterhead(ctx.config)


def _last_told(ctx: Context, court_id: str) -> list[dict[str, Any]] | None:
    return ctx.store.ledger.last_told(court_id)


@dataclass(frozen=True)
class Outcome:
    court_id: str
    letter: Letter | None
    note: str


def letters(ctx: Context, today: date, now: Now, offline: bool, court_id: str | None = None,
            first: date | None = None, last: date | None = None) -> tuple[list[Outcome], list[str]]:
    """A letter for every court whose dates are news to it: a first letter, or an amended one."""
    first = first or today
    last = last or first + timedelta(days=PERIOD_DAYS)
    if last < first:
        raise UsageError(f"--to {last} is before --from {first}.")
    courts = [ctx.court(court_id)] if court_id else list(ctx.courts.values())
    head = letterhead(ctx)
    view = calendar_view(ctx, today, now, offline)
    warnings = [f"{s.id}: {s.status} ({s.error}); staff found only through that feed may be missing"
                for s in view.sources if s.status != "ok" and s.kind == "court"]
    out = []
    for court in courts:
        staff = _staff(ctx, court.id, first, last, view.ids)
        dates = _dates(ctx, staff, first, last)
        liaison = next((x for x in ctx.config.liaison if court.id in x.courts), None)
        signature = ({"name": liaison.name, "title": liaison.title, "email": liaison.email,
                      "phone": liaison.phone or ""} if liaison else
                     {"name": "Learning Collaborative Liaison", "title": "", "email": "", "phone": ""})
        previous = _last_told(ctx, court.id)
        told = changes(previous, dates, first, last) if previous is not None else []
        if previous is not None and not told:
            out.append(Outcome(court.id, None, "no change since the last letter: nothing to send"))
            continue
        if previous is None and not dates:
            out.append(Outcome(court.id, None, "no staff with protected dates before this court in the period"))
            continue
        # A first letter is late for the first date it lists; an amended one only for a date it newly asks the
        # court to keep (an earlier date the court already knows needs no new lead time).
        counted = [d.day for d in dates] if previous is None else dates_to_keep(told)
        late = lateness(counted, today, ctx.config.notices.lead_days)
        letter = Letter(court_id=court.id, court_name=court.name, addressee=court.addressee, address=court.address,
                        email=court.email, liaison=signature, first=first, last=last, today=today, dates=dates,
                        changes=[stated(c) for c in told], amended=previous is not None,
                        late=late_text(late, amended=previous is not None),
                        case_numbers=ctx.config.notices.case_numbers, agency=head)
        out.append(Outcome(court.id, letter, "amended letter" if letter.amended else "first letter"))
    return out, warnings


@dataclass(frozen=True)
class Rendered:
    letter: Letter
    text: str
    html: str


def render_all(ctx: Context, found: list[Letter]) -> list[Rendered]:
    env = for_agency(ctx.config.base_dir)
    out = []
    for letter in found:
        subscribe = _subscription(ctx, letter.court_id)
        out.append(Rendered(letter, render(env, "letter.txt.j2", letter=letter, subscribe=subscribe),
                            render(env, "letter.html.j2", letter=letter, subscribe=subscribe)))
    return out


def _subscription(ctx: Context, court_id: str) -> str | None:
    """The court's calendar link, when the agency runs the web service ([server] base_url) and can key links
    (secret_env set): the clerk's calendar then follows every later change by itself."""
    if not ctx.config.server.base_url:
        return None
    try:
        return calendar_link(ctx.config, "court", court_id)
    except ConfigError:
        return None


def _stem(letter: Letter) -> str:
    return letter_file_stem(letter.court_id, letter.amended, letter.today.isoformat())


def write_files(rendered: list[Rendered], folder: Path) -> list[Path]:
    from courtsync.notices.pdf import many_pdfs

    pdfs = many_pdfs([r.html for r in rendered])
    return [path for r, pdf in zip(rendered, pdfs, strict=True)
            for path in write_named(folder, _stem(r.letter), ((".txt", r.text), (".html", r.html), (".pdf", pdf)))]


def record(ctx: Context, r: Rendered, how: str, when: float) -> None:
    """The notice log: what the court was told, and the letter itself (for --reprint)."""
    letter = r.letter
    ctx.store.ledger.record_notice(letter.court_id, when, how, letter.first.isoformat(), letter.last.isoformat(),
                                   letter.records(), letter.amended, letter.today.isoformat(), r.text, r.html)


def print_batch(ctx: Context, rendered: list[Rendered], folder: Path, now: Now) -> list[Path]:
    """One merged PDF for the batch and a mailing-labels CSV; recorded as told by mail."""
    from courtsync.notices.pdf import merged_pdf

    stamp = rendered[0].letter.today if rendered else date.today()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["name", "addressee", "line1", "line2", "line3"])
    for r in rendered:
        lines = list(r.letter.address) + ["", "", ""]
        writer.writerow([safe_cell(v) for v in (r.letter.court_name, r.letter.addressee, *lines[:3])])
    written = [*write_named(folder, f"notices-print-{stamp}", ((".pdf", merged_pdf([r.html for r in rendered])),)),
               *write_named(folder, f"notices-labels-{stamp}", ((".csv", buffer.getvalue()),))]
    for r in rendered:
        record(ctx, r, "print", now())
    return written


def send(ctx: Context, rendered: list[Rendered], now: Now, resend: bool = False,
         mark_sent: bool = False, court_id: str | None = None) -> tuple[int, int, list[str], Delivery]:
    """Email each letter's PDF to its court through the outbox; the notice log is written when it is sent.
    `resend` sends again only a letter in doubt (unknown); one whose content changed since is replaced by the
    current letter (sent now, or already). The report names every letter in doubt (of `court_id`), whatever its
    content was."""
    from courtsync.notices.pdf import html_to_pdf

    transport = mail_transport(ctx.config)
    no_email = [r.letter.court_id for r in rendered if not r.letter.email]
    messages = []
    by_key: dict[str, Rendered] = {}
    for r in rendered:
        if not r.letter.email:
            continue
        content = json.dumps([r.letter.records(), [c.text for c in r.letter.changes], r.letter.amended])
        key = f"notice:{r.letter.court_id}:{hashlib.sha256(content.encode()).hexdigest()[:20]}"  # same letter, one key
        by_key[key] = r
        subject = letter_subject(r.letter.agency.name if r.letter.agency else None, r.letter.court_name,
                                 r.letter.amended)
        msg = new_message(sender_address(ctx.config), r.letter.email, subject, message_id(key, r.letter.email), now(),
                          lambda: sender_where(ctx.config), "the letter's subject")
        msg.set_content(r.text, cte="quoted-printable")
        msg.add_attachment(html_to_pdf(r.html), maintype="application", subtype="pdf",
                           filename=f"{_stem(r.letter)}.pdf")
        messages.append(Outgoing(key=key, recipient=r.letter.email, subject=subject,
                                 message=msg.as_bytes(policy=policy.SMTP),
                                 meta={"key": key, "court": r.letter.court_id, "amended": r.letter.amended,
                                       "first": r.letter.first.isoformat(), "last": r.letter.last.isoformat(),
                                       "days": [d.day.isoformat() for d in r.letter.dates]}))
    outbox = Outbox(ctx.store.ledger, now)
    queued, already = outbox.queue(messages, resend=RESEND_UNKNOWN if resend else ())
    scope = f"notice:{court_id}:" if court_id else "notice:"
    if resend:   # a letter in doubt that is no longer current: the current one (going now, or gone) replaces it
        outbox.supersede(scope, set(by_key))

    def told(meta: Mapping[str, Any]) -> None:
        sent = by_key.get(str(meta["key"]))
        if sent is not None:
            record(ctx, sent, "email", now())

    delivery = outbox.deliver(transport, keys=set(by_key), on_sent=told, mark_sent=mark_sent, scope=scope,
                              settle=scope)
    return queued, already, no_email, delivery
