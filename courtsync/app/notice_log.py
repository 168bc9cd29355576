"""What each court was told: the notice log (sent, printed, and emails still queued), and a recorded letter
reprinted exactly as it went out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from courtsync.context import Context
from courtsync.errors import UsageError
from courtsync.models import NoticeRecord
from courtsync.notices.render import letter_file_stem, write_named

# Outbox states of a letter's email that the notice log does not hold yet ('sent' ones are in it; a 'resent'
# one was replaced by a later row).
UNSENT = ("pending", "claimed", "sending", "failed", "unknown")


@dataclass(frozen=True)
class LogEntry:
    court_id: str
    when: datetime
    how: str                 # email | print
    kind: str                # initial | amended
    status: str              # sent | printed | pending | claimed | sending | failed | unknown
    first: str
    last: str
    days: list[str]
    reprint: bool            # the letter itself is kept (recorded by this release or later)
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"court": self.court_id, "when": self.when.isoformat(timespec="seconds"), "how": self.how,
                "kind": self.kind, "status": self.status, "first": self.first, "last": self.last,
                "dates": self.days, "reprint": self.reprint, "detail": self.detail}

    def row(self) -> list[str]:
        return [self.court_id, f"{self.when:%Y-%m-%d %H:%M}", self.how, self.kind, self.status, self.first,
                self.last, " ".join(self.days), "yes" if self.reprint else "no"]


def log(ctx: Context, court_id: str | None = None) -> list[LogEntry]:
    """Every letter recorded for each court (or one), and the emailed ones not delivered yet, oldest first."""
    if court_id is not None:
        ctx.court(court_id)
    tz = ctx.config.tz
    out = [LogEntry(r.court, datetime.fromtimestamp(r.told_at, tz), r.how, "amended" if r.amended else "initial",
                    "sent" if r.how == "email" else "printed", r.first, r.last,
                    sorted({str(d.get("day", "")) for d in r.dates}), r.html is not None)
           for r in ctx.store.ledger.notices(court_id)]
    for status in UNSENT:
        for row in ctx.store.ledger.rows(status):
            if not row.key.startswith("notice:"):
                continue
            court = str(row.meta.get("court") or row.base_key.split(":")[1])
            if court_id is not None and court != court_id:
                continue
            days = row.meta.get("days")
            out.append(LogEntry(court, datetime.fromtimestamp(row.created, tz), "email",
                                "amended" if row.meta.get("amended") else "initial", status,
                                str(row.meta.get("first", "")), str(row.meta.get("last", "")),
                                [str(d) for d in days] if isinstance(days, list) else [], False, row.error or ""))
    return sorted(out, key=lambda e: (e.when, e.court_id))


def chosen_letter(ctx: Context, court_id: str, day: date | None = None) -> NoticeRecord:
    """The letter last recorded for a court, or the last one dated (or told) on `day`."""
    ctx.court(court_id)
    records = ctx.store.ledger.notices(court_id)
    if not records:
        raise UsageError(f"No letter to {court_id} is recorded yet, so there is nothing to reprint.",
                         hint=f"`courtsync notices --court {court_id} --send` (or --print) sends or prints one and "
                              "records it.")
    if day is not None:
        told = [r for r in records if day.isoformat() == r.letter_date
                or datetime.fromtimestamp(r.told_at, ctx.config.tz).date() == day]
        if not told:
            dates = sorted({r.letter_date or f"{datetime.fromtimestamp(r.told_at, ctx.config.tz):%Y-%m-%d}"
                            for r in records})
            raise UsageError(f"No letter to {court_id} is recorded on {day}.",
                             hint=f"Letters recorded for {court_id}: {', '.join(dates)}. Give one with --date, or "
                                  "leave --date out for the last.")
        records = told
    record = records[-1]
    if record.html is None or record.text is None or record.letter_date is None:
        raise UsageError(f"The letter to {court_id} recorded on "
                         f"{datetime.fromtimestamp(record.told_at, ctx.config.tz):%Y-%m-%d} was recorded by an earlier "
                         "courtsync, which did not keep the letter itself.",
                         hint=f"`courtsync notices --log --court {court_id}` shows the dates it told the court.")
    return record


def write_reprint(record: NoticeRecord, folder: Path) -> list[Path]:
    """The recorded letter as PDF, HTML and text, under the name it was first written with."""
    from courtsync.notices.pdf import html_to_pdf

    assert record.html is not None and record.text is not None and record.letter_date is not None
    stem = letter_file_stem(record.court, record.amended, record.letter_date)
    pdf = html_to_pdf(record.html)
    return write_named(folder, stem, ((".txt", record.text), (".html", record.html), (".pdf", pdf)))


def show(ctx: Context, show_log: bool, court_id: str | None, reprint_court: str | None, day: date | None,
         out_dir: Path | None, writing: bool) -> list[LogEntry] | list[Path]:
    """`notices --log`: the log's entries; `notices --reprint COURT [--date D]`: the files written again."""
    if day is not None and reprint_court is None:
        raise UsageError("--date goes with --reprint COURT: it chooses which recorded letter is written again.")
    if writing or (show_log and reprint_court):
        raise UsageError("--log, and --reprint COURT [--date D], only read the record: give one of them, without "
                         "--send or --print.")
    if reprint_court is not None:
        return write_reprint(chosen_letter(ctx, reprint_court, day), out_dir or Path("."))
    return log(ctx, court_id)


