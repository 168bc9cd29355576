"""`courtsync transcript`: a worker's sessions with status, hours and CEUs, and totals; as a PDF, a certificate
with a verification code that `courtsync transcript --verify CODE` checks against the records."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from courtsync.context import Context
from courtsync.core.attendance import Row, totals
from courtsync.errors import UsageError
from courtsync.models import Worker
from courtsync.notices.letterhead import letterhead
from courtsync.notices.letters import Letterhead, long_date
from courtsync.notices.render import for_agency, render
from courtsync.private_files import write_file
from courtsync.queries.attendance import Book, moment

Now = Callable[[], float]
DEFAULT_BACK = timedelta(days=365)
DEFAULT_AHEAD = timedelta(days=60)


@dataclass(frozen=True)
class Transcript:
    worker: Worker
    first: date
    last: date
    as_of: date
    rows: list[Row]
    names: dict[str, str]          # collaborative id -> name
    ceu_rates: dict[str, float | None]

    @property
    def totals(self) -> dict[str, float]:
        return totals(self.rows)

    def lines(self) -> list[dict[str, Any]]:
        """Each session as plain values: what every format shows and the verification code covers."""
        out = []
        for r in self.rows:
            att = r.attended
            out.append({
                "collaborative": r.session.collaborative_id, "collaborative_name": self.names.get(
                    r.session.collaborative_id, r.session.collaborative_id),
                "date": r.session.day.isoformat(), "start": r.session.start.strftime("%H:%M"),
                "end": r.session.end.strftime("%H:%M"), "status": r.status, "expected": r.expected,
                "hours": r.hours, "ceus": r.ceus,
                "attended": ({"collaborative": att.collaborative_id, "date": att.day.isoformat()}
                             if att is not None and r.status == "made up" else None),
                "excused_by": ({"case_number": r.excuse.case_number, "court": r.excuse.court_id}
                               if r.excuse is not None else None),
                "due_by": r.due_by.isoformat() if r.due_by and r.status in ("absent", "excused (court)") else None,
                "makeup_booked": ({"collaborative": r.booked.collaborative_id, "date": r.booked.day.isoformat()}
                                  if r.booked is not None else None),
                "no_signin_imported": r.unrecorded,
            })
        return out

    def digest(self) -> str:
        """What the certificate states, as one hash: the worker, the period and every line."""
        body = {"worker": self.worker.id, "name": self.worker.name, "first": self.first.isoformat(),
                "last": self.last.isoformat(), "lines": self.lines(), "totals": self.totals}
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()

    def code(self) -> str:
        """The verification code printed on the certificate: 16 letters and digits from the digest."""
        raw = base64.b32encode(bytes.fromhex(self.digest())[:10]).decode()
        return "-".join(raw[i:i + 4] for i in range(0, 16, 4))


def transcript(ctx: Context, today: date, now: Now, worker_id: str, first: date | None = None,
               last: date | None = None) -> Transcript:
    """The worker's sessions from `first` (default: a year ago) to `last` (default: two months ahead)."""
    worker = ctx.worker(worker_id)
    first = first or today - DEFAULT_BACK
    last = last or today + DEFAULT_AHEAD
    if last < first:
        raise UsageError(f"--to {last} is before --from {first}.")
    book = Book(ctx, moment(ctx, today, now), worker.id)
    return Transcript(worker, first, last, today, book.rows(worker, first, last),
                      {cid: c.name for cid, c in ctx.collaboratives.items()},
                      {cid: c.ceu_per_hour for cid, c in ctx.collaboratives.items()})


def certificate_html(ctx: Context, t: Transcript) -> str:
    head: Letterhead | None = letterhead(ctx.config)
    return render(for_agency(ctx.config.base_dir), "certificate.html.j2", t=t, lines=t.lines(), totals=t.totals,
                  agency=head, period=f"{long_date(t.first)} to {long_date(t.last)}", issued=long_date(t.as_of),
                  code=t.code())


def certificate_pdf(ctx: Context, t: Transcript, now: Now) -> bytes:
    """The PDF certificate; its code is recorded so `--verify` can find it."""
    from courtsync.notices.pdf import html_to_pdf

    pdf = html_to_pdf(certificate_html(ctx, t))
    summary = json.dumps({"name": t.worker.name, "totals": t.totals, "sessions": len(t.rows)}, sort_keys=True)
    issued = moment(ctx, t.as_of, now).timestamp()   # the instant its statuses were judged at (--as-of)
    ctx.store.attendance.issue(t.code(), t.worker.id, t.first.isoformat(), t.last.isoformat(), t.digest(),
                               summary, issued)
    return pdf


def write_certificate(ctx: Context, t: Transcript, path: Path, now: Now) -> None:
    """The certificate as a PDF file, owner-only (it names a worker)."""
    pdf = certificate_pdf(ctx, t, now)
    try:
        write_file(path, pdf)
    except OSError as exc:
        raise UsageError(f"Cannot write {path}: {exc.strerror or exc}.",
                         hint="Choose an --out file in a folder you can write to.") from None


@dataclass(frozen=True)
class Verified:
    code: str
    valid: bool
    message: str
    worker: Worker | None = None


def verify(ctx: Context, today: date, now: Now, code: str) -> Verified:
    """A certificate's code: issued by courtsync for whom and when, and whether the records still say what it
    says (a sign-in corrected since changes them)."""
    wanted = code.strip().upper().replace(" ", "")
    if len(wanted) == 16 and "-" not in wanted:
        wanted = "-".join(wanted[i:i + 4] for i in range(0, 16, 4))
    found = ctx.store.attendance.certificate(wanted)
    if found is None:
        return Verified(wanted, False, f"{wanted} is not the code of a certificate courtsync issued here.")
    worker_id, first, last, digest, summary_text, issued_at = found
    summary = json.loads(summary_text)
    issued = datetime.fromtimestamp(issued_at, ctx.config.tz).date()
    said = (f"issued {issued} to {summary['name']} ({worker_id}) for {first} to {last}: "
            f"{summary['sessions']} sessions, {summary['totals']['hours']:g} hours, "
            f"{summary['totals']['ceus']:g} CEUs")
    worker = ctx.roster.workers.get(worker_id)
    if worker is None:
        return Verified(wanted, False, f"{wanted} was {said}; {worker_id} is no longer in the workers file.")
    span = (date.fromisoformat(first or "1970-01-01"), date.fromisoformat(last or "9999-12-31"))
    now_says = transcript(ctx, issued, lambda: issued_at, worker_id, *span)
    if now_says.digest() != digest:
        return Verified(wanted, False, f"{wanted} was {said}; the records have changed since (now "
                                       f"{now_says.totals['hours']:g} hours, {now_says.totals['ceus']:g} CEUs): "
                                       "issue a new transcript.", worker)
    return Verified(wanted, True, f"{wanted} is valid: {said}.", worker)
