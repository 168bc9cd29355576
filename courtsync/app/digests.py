"""The weekly supervisor digest: build it from a scan, render it, write it to files or queue and send it."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from email import policy
from pathlib import Path
from typing import Any

from courtsync.config.fields import DATE_RANGE
from courtsync.config.links import check_link
from courtsync.context import Context
from courtsync.core.digest import Entry, TeamDigest, compare, conflict_key
from courtsync.core.explain import problems_text
from courtsync.errors import UsageError
from courtsync.models import Problem, Session, SourceId, SourceInfo, Worker
from courtsync.notices.outbox import RESEND_ANY, Outbox, Outgoing, message_id, new_message
from courtsync.notices.outbox import Delivery as Delivery  # re-exported: the delivery report the commands print
from courtsync.notices.render import for_agency, render, write_named
from courtsync.notices.subjects import digest_subject
from courtsync.notices.transport import mail_transport, sender_address, sender_where
from courtsync.queries import findings as checks
from courtsync.queries.attendance import Book, moment
from courtsync.sync.engine import without_retry

Now = Callable[[], float]


def parse_week(text: str | None, today: date) -> tuple[date, str]:
    """'2027-W03' (ISO week) -> its Monday; None -> the week of today."""
    if text is None:
        year, week, _ = today.isocalendar()
    else:
        m = re.fullmatch(r"(\d{4})-?W(\d{2})", text.strip(), re.I)
        if not m:
            raise UsageError(f"--week {text!r} is not an ISO week; write it as YYYY-Www, e.g. 2027-W03.")
        year, week = int(m.group(1)), int(m.group(2))
        if not DATE_RANGE[0].year <= year <= DATE_RANGE[1].year:   # year 1 or 9999 overflows the weeks around it
            raise UsageError(f"--week {text}: {year} is outside the years courtsync plans for "
                             f"({DATE_RANGE[0].year} to {DATE_RANGE[1].year}); check the year.")
        try:
            date.fromisocalendar(year, week, 1)
        except ValueError:
            raise UsageError(f"--week {text}: {year} has no week {week}.") from None
    return date.fromisocalendar(year, week, 1), f"{year}-W{week:02d}"


def _entry(ctx: Context, f: checks.Found) -> Entry:
    c = f.conflict
    collab = ctx.collaboratives[c.collaborative_id]
    court = ctx.courts[c.court_id].name if c.court_id else ("Outlook" if SourceId.parse(c.source).mail_system
                                                            else c.source)
    when = "all day" if c.all_day else (f"{c.event_start:%H:%M}-{c.event_end:%H:%M}" if c.event_end
                                        else f"{c.event_start:%H:%M}")
    parts = [f"case {c.case_number}" if c.case_number else "", court, when, f.place]
    return Entry(status="new", worker_id=c.worker_id, worker_name=c.worker_name, day=f"{c.session_start:%a %Y-%m-%d}",
                 session=f"{collab.name} {c.session_start:%H:%M}-{c.session_end:%H:%M}",
                 hearing=", ".join(p for p in parts if p), kind=c.kind, note=", ".join(f.flags))


def team_digests(ctx: Context, today: date, now: Now, offline: bool, week: str | None = None,
                 supervisor_id: str | None = None) -> list[TeamDigest]:
    monday, label = parse_week(week, today)
    horizon = monday + timedelta(days=7 * ctx.config.digest.weeks - 1)
    reports: dict[str, list[Worker]] = {}
    for w in ctx.roster.workers.values():
        if w.supervisor_id:
            reports.setdefault(w.supervisor_id, []).append(w)
    if supervisor_id is not None:
        if not reports.get(ctx.worker(supervisor_id).id):
            raise UsageError(f"{supervisor_id} supervises nobody in workers.csv (no row names them as supervisor_id).")
        chosen = [supervisor_id]
    else:
        chosen = sorted(reports)
    scan = checks.scan_conflicts(ctx, today, now, offline, first=monday, last=horizon,
                       worker_ids=[w.id for s in chosen for w in reports[s]] if supervisor_id else ())
    by_worker: dict[str, list[checks.Found]] = {}
    for f in scan.found:
        by_worker.setdefault(f.conflict.worker_id, []).append(f)
    previous = _previous(ctx)
    book = Book(ctx, moment(ctx, today, now))
    out = []
    for sup_id in chosen:
        team = reports[sup_id]
        current = {conflict_key(f.conflict): _entry(ctx, f) for w in team for f in by_worker.get(w.id, [])}
        entries = compare(current, previous.get(sup_id, {}), f"{monday:%a %Y-%m-%d}")
        out.append(TeamDigest(supervisor=ctx.worker(sup_id), week=label, first=monday,
                              last=monday + timedelta(days=6), entries=entries,
                              sessions=_week_sessions(ctx, team, monday),
                              # only the calendars that can hold this team's items: not another team's
                              unread=scan.view.unread_for(team, ctx.store),
                              problems=scan.view.problems_for(team),
                              keys={k: e.as_dict() for k, e in current.items()},
                              **_attendance(ctx, book, team, monday)))
    return out


def _attendance(ctx: Context, book: Book, team: list[Worker], monday: date) -> dict[str, list[dict[str, str]]]:
    """The team's sessions missed without a make-up that are still due (or overdue since this week began:
    last shown once), and the make-ups they booked from this week on."""
    missed, booked = [], []
    for w in sorted(team, key=lambda w: w.name):
        for r in book.rows(w, monday - ctx.config.makeup_window - timedelta(days=7), None):
            name = ctx.collaboratives[r.session.collaborative_id].name
            if r.status in ("absent", "excused (court)") and not r.unrecorded and r.booked is None \
                    and r.due_by is not None and r.due_by >= monday - timedelta(days=7):
                missed.append({"worker": w.name, "worker_id": w.id, "day": f"{r.session.day:%a %Y-%m-%d}",
                               "session": name, "status": r.status, "due_by": f"{r.due_by:%a %Y-%m-%d}",
                               "overdue": "overdue" if r.due_by < monday else ""})
            if r.booked is not None and r.booked.day >= monday:
                booked.append({"worker": w.name, "worker_id": w.id, "day": f"{r.booked.day:%a %Y-%m-%d}",
                               "session": ctx.collaboratives[r.booked.collaborative_id].name,
                               "for": f"{name} {r.session.day:%Y-%m-%d}"})
    return {"missed": missed, "makeups": booked}


def _previous(ctx: Context) -> dict[str, dict[str, dict[str, Any]]]:
    return ctx.store.ledger.digest_keys()


def _week_sessions(ctx: Context, team: list[Worker], monday: date) -> list[tuple[Session, str, list[str]]]:
    members: dict[str, list[str]] = {}
    for w in team:
        for cid in w.collaboratives:
            members.setdefault(cid, []).append(w.name)
    rows = [(s, ctx.collaboratives[cid].name, sorted(names)) for cid, names in members.items()
            for s in ctx.sessions[cid] if s.active and monday <= s.day <= monday + timedelta(days=6)]
    return sorted(rows, key=lambda r: (r[0].start.timestamp(), r[1]))


@dataclass(frozen=True)
class Rendered:
    digest: TeamDigest
    subject: str
    text: str
    html: str


def render_all(ctx: Context, digests: list[TeamDigest]) -> list[Rendered]:
    env = for_agency(ctx.config.base_dir)
    agency = ctx.config.agency.name if ctx.config.agency else None
    out = []
    for d in digests:
        horizon = d.first + timedelta(days=7 * ctx.config.digest.weeks - 1)
        context = {"supervisor": d.supervisor, "week": d.week, "first": d.first, "last": d.last, "horizon": horizon,
                   "entries": d.entries, "sessions": d.sessions, "missed": d.missed, "makeups": d.makeups,
                   "unread": [banner_line(s) for s in d.unread],
                   "problems": problems_text(d.problems, line=problem_line),
                   "agency": ctx.config.agency,
                   "this_week": d.this_week(), "later": d.later(), "resolved": d.resolved(),
                   "counts": {s: d.count(s) for s in ("new", "open", "resolved")},
                   # With [server] base_url: each conflict links to the check page for that worker and day.
                   "check_url": lambda worker_id, day: check_link(ctx.config, worker_id, str(day)[-10:]),
                   "service": ctx.config.server.base_url}
        subject = digest_subject(agency, d.supervisor.name, d.week, d.count("new"), d.count("open"),
                                 d.count("resolved"), unread=bool(d.unread))
        out.append(Rendered(d, subject, render(env, "digest.txt.j2", **context),
                            render(env, "digest.html.j2", **context)))
    return out


def banner_line(info: SourceInfo) -> dict[str, str]:
    """An unread source as a digest names it: its id and state, never its address (a private calendar's URL
    carries its secret, and digests are emailed) and never when commands retry it (stale once read)."""
    reason = without_retry(info.error or "")
    if info.label:
        reason = reason.replace(info.label, info.id)
    reason = ADDRESS.sub("(address withheld)", reason)
    return {"id": info.id, "status": info.status, "error": reason or info.status}


def problem_line(p: Problem) -> str:
    """An unreadable item as a digest names it: `file:line: reason`, without the text of the line (a hearing's
    words, a child's name) and without a private calendar's address."""
    reason = re.sub(r"\s*\((['\"]).*\1\)", "", p.reason)   # not a property line ('...'): the line itself
    return _withhold(f"{p.location}: {reason}", p.source)


def _withhold(text: str, source: str) -> str:
    return ADDRESS.sub(source, text)


ADDRESS = re.compile(r"\b[a-z][a-z0-9+.-]*://\S*[^\s).,;:]", re.I)   # a URL, up to its closing punctuation


def write_files(rendered: list[Rendered], folder: Path) -> list[Path]:
    return [path for r in rendered for path in write_named(
        folder, f"digest-{r.digest.supervisor.id}-{r.digest.week}", ((".txt", r.text), (".html", r.html)))]


def send(ctx: Context, rendered: list[Rendered], now: Now, resend: bool = False,
         mark_sent: bool = False) -> tuple[int, int, int, Delivery]:
    """Queue each digest once per supervisor and week (`resend`: once more, unless it is queued still), then
    deliver what is pending. The report names every digest in doubt, of any week. Returns
    (queued, already queued, skipped all-clears, delivery)."""
    transport = mail_transport(ctx.config)
    outbox = Outbox(ctx.store.ledger, now)
    messages, skipped = [], 0
    for r in rendered:
        if r.digest.all_clear and ctx.config.digest.all_clear == "skip":
            skipped += 1
            continue
        key = f"digest:{r.digest.supervisor.id}:{r.digest.week}"
        messages.append(Outgoing(key=key, recipient=r.digest.supervisor.email, subject=r.subject,
                                 message=_email(ctx, r, key, now()),
                                 meta={"supervisor": r.digest.supervisor.id, "week": r.digest.week,
                                       "keys": r.digest.keys}))
    queued, already = outbox.queue(messages, resend=RESEND_ANY if resend else ())

    def remember(meta: Mapping[str, Any]) -> None:
        ctx.store.ledger.remember_digest(meta["supervisor"], meta["week"], meta["keys"], now())

    delivery = outbox.deliver(transport, keys={m.key for m in messages}, on_sent=remember, mark_sent=mark_sent,
                              scope="digest:")
    return queued, already, skipped, delivery


def _email(ctx: Context, r: Rendered, key: str, when: float) -> bytes:
    msg = new_message(sender_address(ctx.config), r.digest.supervisor.email, r.subject,
                      message_id(key, r.digest.supervisor.email), when, lambda: sender_where(ctx.config),
                      "the digest's subject")
    # Quoted-printable: SMTP refuses lines over 998 bytes, and an HTML table row can be longer (found by the
    # real-server tests: "500 Line too long").
    msg.set_content(r.text, cte="quoted-printable")
    msg.add_alternative(r.html, subtype="html", cte="quoted-printable")
    return msg.as_bytes(policy=policy.SMTP)
