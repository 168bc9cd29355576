"""Results -> the JSON shapes and table rows promised in product.md (no I/O)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from courtsync.core.busy_rules import FLAG_TEXT
from courtsync.core.explain import problems_text
from courtsync.models import BusyItem, CheckResult, Conflict, MakeUp, Problem, SourceInfo
from courtsync.queries.calendar_view import CalendarView
from courtsync.queries.findings import Found, ScanResult
from courtsync.sync.engine import SyncReport, joined

if TYPE_CHECKING:   # result types only: a command loads the use cases it runs, not every one
    from courtsync.app.dates import DatedSession, DatesResult
    from courtsync.app.events import EventsResult

DATES_COLUMNS = ("date", "day", "start", "end", "collaborative_id", "collaborative_name", "kind", "status",
                 "note", "location", "uid", "worker_ids")


def session_notes(row: DatedSession) -> str:
    s = row.session
    notes = []
    if not s.active:
        notes.append("CANCELLED")
    if s.moved_from:
        notes.append(f"moved from {s.moved_from}")
    if s.origin == "added":
        notes.append("added date")
    if s.holiday:
        notes.append(f"COURT HOLIDAY: {s.holiday}")
    return "; ".join(notes)


def dated_session(row: DatedSession) -> dict[str, Any]:
    s, c = row.session, row.collaborative
    return {
        "collaborative_id": c.id, "collaborative_name": c.name, "kind": c.kind, "region": c.region,
        "date": s.day, "start": s.start, "end": s.end, "status": s.status, "origin": s.origin,
        "moved_from": s.moved_from, "holiday": s.holiday, "location": c.location, "uid": s.uid,
        "worker_ids": list(row.worker_ids),
    }


def dates_json(result: DatesResult) -> dict[str, Any]:
    return {"title": result.title, "range": {"from": result.first, "to": result.last},
            "holidays": result.holidays_label, "sessions": [dated_session(r) for r in result.sessions]}


def dates_rows(result: DatesResult) -> list[list[Any]]:
    return [[r.session.day.isoformat(), f"{r.session.day:%a}", f"{r.session.start:%H:%M}",
             f"{r.session.end:%H:%M}", r.collaborative.id, r.collaborative.name, r.collaborative.kind,
             r.session.status, session_notes(r), r.collaborative.location or "", r.session.uid,
             ";".join(r.worker_ids)] for r in result.sessions]


CONFLICT_COLUMNS = ("worker_id", "worker_name", "supervisor_id", "collaborative_id", "session_start",
                    "session_end", "source", "event_uid", "event_start", "event_end", "all_day",
                    "case_number", "court_id", "kind")


def conflict(c: Conflict) -> dict[str, Any]:
    return {name: getattr(c, name) for name in CONFLICT_COLUMNS}


def makeup_json(m: MakeUp) -> dict[str, Any]:
    return {"for_collaborative_id": m.for_collaborative, "for_date": m.for_day,
            "collaborative_id": m.session.collaborative_id, "date": m.session.day, "start": m.session.start,
            "end": m.session.end}


def check_json(result: CheckResult, view: CalendarView) -> dict[str, Any]:
    return {
        "range": {"from": result.day, "to": result.day},
        "worker_id": result.worker.id,
        "worker_name": result.worker.name,
        "date": result.day,
        "requested": {"start": result.start, "end": result.end, "whole_day": result.whole_day},
        "verdict": result.verdict,
        "reasons": [{"kind": r.kind, "message": r.message} for r in result.reasons],
        "conflicts": [conflict(c) for c in result.conflicts],
        "suggestions": list(result.suggestions),
        "makeups": [makeup_json(m) for m in result.makeups],
        "sources": [source_json(s) for s in view.sources],
        "problems": [problem_json(p) for p in result.problems],
    }


# The table's verdict and its colour; `unknown` is never a word a hurried reader could take for "free".
VERDICT_WORDS = {"free": ("FREE", "green"), "conflict": ("NOT FREE", "red"),
                 "unknown": ("UNKNOWN — not verified, calendars unread", "yellow")}


def check_text(result: CheckResult, verdict: str, suggest_n: int | None) -> str:
    """`check --date` for people: the verdict (as styled by the caller), each reason, other dates, make-ups."""
    when = "whole day" if result.whole_day else f"{result.start:%H:%M}–{result.end:%H:%M}"
    lines = [f"{result.worker.name} ({result.worker.id}) on {result.day:%a %Y-%m-%d}, {when}: {verdict}"]
    lines += [f"  [{'ok' if r.kind == 'free' else r.kind}] {r.message}" for r in result.reasons]
    if result.suggestions:
        lines.append("Next free dates: " + ", ".join(f"{d:%a %Y-%m-%d}" for d in result.suggestions))
    elif result.verdict == "conflict" and suggest_n != 0 and not any(r.kind == "suggestions" for r in result.reasons):
        lines.append("No free business date found in the next year.")
    if result.makeups:
        lines.append("If the hearing cannot move, make-up sessions (same tier, same month): "
                     + ", ".join(f"{m.session.collaborative_id} {m.session.day:%a %Y-%m-%d}"
                                 for m in result.makeups[:5]))
    head, *rest = problems_text(result.problems) or [""]
    lines += [head, *(f"  {line}" for line in rest)] if head else []
    return "\n".join(lines)


CHECK_COLUMNS = ("worker_id", "worker_name", "date", "start", "end", "whole_day", "verdict", "reason_kind", "reason")


def check_rows(result: CheckResult) -> list[list[Any]]:
    """One row per reason of the verdict (one row with empty reason cells if it has none)."""
    head = [result.worker.id, result.worker.name, result.day, result.start, result.end, result.whole_day,
            result.verdict]
    return [[*head, r.kind, r.message] for r in result.reasons] or [[*head, "", ""]]


def found_json(f: Found) -> dict[str, Any]:
    return {**conflict(f.conflict), "flags": list(f.flags), "matched_by": f.matched_by,
            **({"makeups": [makeup_json(m) for m in f.makeups]} if f.makeups else {})}


def scan_json(result: ScanResult) -> dict[str, Any]:
    return {"range": {"from": result.first, "to": result.last},
            "sources": [source_json(s) for s in result.view.sources],
            "problems": [problem_json(p) for p in result.view.problems],
            "notes": list(result.notes),
            "conflicts": [found_json(f) for f in result.found]}


def scan_rows(result: ScanResult) -> list[list[Any]]:
    return [[getattr(f.conflict, c) for c in CONFLICT_COLUMNS] + [";".join(f.flags), f.matched_by]
            for f in result.found]


def source_json(s: SourceInfo) -> dict[str, Any]:
    return {"id": s.id, "kind": s.kind, "status": s.status, "synced_at": s.synced_at, "events": s.events,
            "error": s.error, "label": s.label}


def problem_json(p: Problem) -> dict[str, Any]:
    return {"source": p.source, "location": p.location, "reason": p.reason}


def item_json(item: BusyItem, reasons: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "source": item.source, "uid": item.uid, "instance": item.instance or None,
        "start": item.start, "end": item.end, "all_day": item.all_day, "status": item.status, "busy": item.busy,
        "summary": item.summary, "location": item.location,
        "case_number": item.case_numbers[0] if item.case_numbers else None,
        "case_numbers": list(item.case_numbers), "worker_ids": list(item.worker_ids),
        "matched_by": reasons or {}, "line": item.line, "flags": list(item.flags),
        "why": [FLAG_TEXT.get(f, f) for f in item.flags],
    }


def events_json(result: EventsResult) -> dict[str, Any]:
    return {
        "range": {"from": result.first, "to": result.last},
        "sources": [source_json(s) for s in result.view.sources],
        "problems": [problem_json(p) for p in result.view.problems],
        "events": [item_json(i, why) for i, why in zip(result.items, result.reasons, strict=True)],
    }


EVENT_COLUMNS = ("source", "uid", "instance", "start", "end", "all_day", "status", "busy", "summary", "location",
                 "case_number", "worker_ids", "line", "flags")


def events_rows(result: EventsResult) -> list[list[Any]]:
    return [[i.source, i.uid, i.instance, i.start, i.end, i.all_day, i.status, i.busy, i.summary, i.location,
             ";".join(i.case_numbers), ";".join(i.worker_ids), i.line, ";".join(i.flags)] for i in result.items]


def range_text(first: date | None, last: date | None) -> str:
    if first and last:
        return f", {first} to {last}"
    if first:
        return f", from {first}"
    if last:
        return f", until {last}"
    return ""


def report_line(r: SyncReport, width: int) -> str:
    """One source's line of `courtsync sync`; a failure's hint (how to fix it) on the line below, indented."""
    kept = f"keeping the last good copy ({r.events} items)" if r.events else "nothing stored yet"
    hint = f"\n{'':<{width}}  {r.error.hint}" if r.error is not None and r.error.hint else ""
    why = r.error.message if r.error is not None else ""
    if r.outcome == "failed":
        return f"{r.source:<{width}}  FAILED     {joined(why or 'unreadable', kept)}{hint}"
    if r.outcome == "held":
        return f"{r.source:<{width}}  HELD       {joined(why or 'held', f'({r.events} items kept)')}{hint}"
    if r.outcome in ("abandoned", "skipped"):   # not read in time: say so, never "unchanged"
        what = "not read in time" if r.outcome == "abandoned" else "not started: the deadline had passed"
        return f"{r.source:<{width}}  {r.outcome.upper():<9}  {joined(what, kept)}"
    detail = (f"{r.events} items, {r.reread} of {r.groups} events re-read" if r.outcome == "read"
              else f"{r.events} items, unchanged")
    extra = f", {r.problems} problem(s)" if r.problems else ""
    if r.held:   # a sudden drop in these mailboxes: their last good copies stay
        extra += (f"; held the mailbox(es) of {', '.join(r.held[:5])}{' and more' if len(r.held) > 5 else ''} "
                  f"(most or all of their upcoming items gone; `courtsync sync --accept {r.source}` takes them)")
    return (f"{r.source:<{width}}  {r.outcome:<9}  {detail}{extra}  ({r.seconds:.2f} s, {r.round_trips} "
            f"request(s))  {r.label}")


def short(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def scan_text(result: ScanResult, title: str) -> str:
    lines = [f"{title}, sessions {result.first} to {result.last}: {len(result.found)} found"]
    last_worker = None
    for f in sorted(result.found, key=lambda f: (f.conflict.worker_name, f.conflict.session_start.timestamp())):
        c = f.conflict
        if c.worker_id != last_worker:
            lines.append(f"\n{c.worker_name} ({c.worker_id}), supervisor {c.supervisor_id or '-'}")
            last_worker = c.worker_id
        when = "all day" if c.all_day else (f"{c.event_start:%H:%M}–{c.event_end:%H:%M}" if c.event_end
                                             else f"{c.event_start:%H:%M} (no end)")
        what = f"case {c.case_number}" if c.case_number else c.event_uid
        note = f" [{', '.join(f.flags)}]" if f.flags else ""
        lines.append(f"  {c.session_start:%a %Y-%m-%d} {c.collaborative_id} {c.session_start:%H:%M}–"
                     f"{c.session_end:%H:%M}  {c.kind:<7}  {when} {c.source}: {what} ({f.matched_by}){note}")
        for m in f.makeups[:3]:
            lines.append(f"      make-up: {m.session.collaborative_id} {m.session.day:%a %Y-%m-%d}")
    return "\n".join(lines)
