"""Attendance, imports, make-ups and transcripts as text, JSON and CSV (the PDF certificate is app/transcript)."""

from __future__ import annotations

from typing import Any

from courtsync.app.attendance import Absences, ImportResult
from courtsync.app.transcript import Transcript
from courtsync.presenters import formats

TRANSCRIPT_COLUMNS = ("date", "collaborative", "start", "end", "status", "hours", "ceus", "made_up_at",
                      "excused_by_case", "excused_by_court", "due_by", "makeup_booked", "no_signin_imported")


def import_text(result: ImportResult) -> str:
    out = []
    for f in result.files:
        o = f.outcome
        if o is None:
            out.append(f"{f.path}: not imported ({len(f.problems)} problem(s), no good row); what it said before "
                       "is kept")
            continue
        if o.unchanged:
            what = "unchanged since it was last imported (nothing to do)"
        elif o.revision == 1:
            what = f"imported {o.added} sign-ins"
        else:
            what = (f"corrected (import {o.revision}): {o.added} added, {o.removed} removed, {o.changed} "
                    f"changed; {f.rows} sign-ins now")
        out.append(f"{f.path}: {what}" + (f"; {len(f.problems)} rows rejected" if f.problems else ""))
    return "\n".join(out) + "\n"


def import_json(result: ImportResult) -> dict[str, Any]:
    return {"files": [{"file": str(f.path), "unchanged": bool(f.outcome and f.outcome.unchanged),
                       "rows": f.rows, "added": f.outcome.added if f.outcome else 0,
                       "removed": f.outcome.removed if f.outcome else 0,
                       "changed": f.outcome.changed if f.outcome else 0,
                       "revision": f.outcome.revision if f.outcome else 0,
                       "rejected": [{"line": p.line, "column": p.key, "message": p.message} for p in f.problems]}
                      for f in result.files], "rejected": result.rejected}


def absences_text(a: Absences) -> str:
    out = [a.title, ""]
    if a.missed:
        out.append("Missed a session without a make-up:")
        for m in a.missed:
            r = m.row
            why = (f"excused (court: case {r.excuse.case_number or '?'}, {r.excuse.court_id or 'court'})"
                   if r.excuse else "absent")
            due = f"{'OVERDUE since' if m.overdue else 'make-up due by'} {r.due_by}"
            out.append(f"  {m.worker.name} ({m.worker.id})  {r.session.collaborative_id} {r.session.day}  {why}; "
                       f"{due}")
    else:
        out.append("No one missed a session without a make-up.")
    if a.booked:
        out += ["", "Make-ups booked:"]
        out += [f"  {w.name} ({w.id})  for {r.session.collaborative_id} {r.session.day}: "
                f"{r.booked.collaborative_id} {r.booked.day}" for w, r in a.booked if r.booked]
    if a.unrecorded:
        shown = ", ".join(f"{c} {d}" for c, d in a.unrecorded[:8])
        more = f" and {len(a.unrecorded) - 8} more" if len(a.unrecorded) > 8 else ""
        out += ["", f"note: {len(a.unrecorded)} session(s) held with no sign-in imported, not judged: {shown}{more}. "
                    "Import their sign-in sheets: courtsync attendance import FILE."]
    return "\n".join(out) + "\n"


def absences_json(a: Absences) -> dict[str, Any]:
    return {"title": a.title, "as_of": a.as_of.isoformat(),
            "missed": [{"worker_id": m.worker.id, "worker_name": m.worker.name,
                        "supervisor_id": m.worker.supervisor_id, "collaborative": m.row.session.collaborative_id,
                        "date": m.row.session.day.isoformat(), "status": m.row.status,
                        "excused_by": ({"case_number": m.row.excuse.case_number, "court": m.row.excuse.court_id}
                                       if m.row.excuse else None),
                        "due_by": m.row.due_by.isoformat() if m.row.due_by else None, "overdue": m.overdue}
                       for m in a.missed],
            "booked": [{"worker_id": w.id, "for": {"collaborative": r.session.collaborative_id,
                                                   "date": r.session.day.isoformat()},
                        "session": {"collaborative": r.booked.collaborative_id, "date": r.booked.day.isoformat()}}
                       for w, r in a.booked if r.booked],
            "unrecorded": [{"collaborative": c, "date": d.isoformat()} for c, d in a.unrecorded]}


def transcript_json(t: Transcript) -> dict[str, Any]:
    return {"worker": {"id": t.worker.id, "name": t.worker.name, "office": t.worker.office},
            "from": t.first.isoformat(), "to": t.last.isoformat(), "sessions": t.lines(), "totals": t.totals}


def _made_up(line: dict[str, Any]) -> str:
    att = line["attended"]
    return f"{att['collaborative']} {att['date']}" if att else ""


def transcript_rows(t: Transcript) -> list[list[Any]]:
    out = []
    for line in t.lines():
        exc, booked = line["excused_by"] or {}, line["makeup_booked"]
        out.append([line["date"], line["collaborative"], line["start"], line["end"], line["status"], line["hours"],
                    line["ceus"], _made_up(line), exc.get("case_number") or "", exc.get("court") or "",
                    line["due_by"] or "", f"{booked['collaborative']} {booked['date']}" if booked else "",
                    "yes" if line["no_signin_imported"] else ""])
    return out


def transcript_text(t: Transcript) -> str:
    out = [f"Transcript of {t.worker.name} ({t.worker.id}), {t.first} to {t.last}", ""]
    for line in t.lines():
        note = ""
        if line["attended"]:
            note = f"  made up at {_made_up(line)}"
        elif line["excused_by"]:
            note = f"  hearing: case {line['excused_by']['case_number'] or '?'}, {line['excused_by']['court'] or ''}"
        if line["due_by"]:
            note += f"  make-up due by {line['due_by']}"
        if line["makeup_booked"]:
            note += f"  make-up booked: {line['makeup_booked']['collaborative']} {line['makeup_booked']['date']}"
        if line["no_signin_imported"]:
            note += "  (no sign-in imported for this session)"
        if not line["expected"]:
            note += "  (attended in addition)"
        out.append(f"  {line['date']} {line['start']}-{line['end']}  {line['collaborative']:<14} "
                   f"{line['status']:<16} {line['hours']:>5.2f} h {line['ceus']:>5.2f} CEU{note}")
    if not t.rows:
        out.append("  (no sessions in this period)")
    tot = t.totals
    out += ["", f"Total: {int(tot['present'])} present, {int(tot['made up'])} made up, "
                f"{int(tot['excused (court)'])} excused (court), {int(tot['absent'])} absent, "
                f"{int(tot['upcoming'])} upcoming; {tot['hours']:g} hours, {tot['ceus']:g} CEUs"]
    return "\n".join(out) + "\n"


def transcript_out(t: Transcript, fmt: str) -> str:
    if fmt == "json":
        return formats.to_json(transcript_json(t))
    if fmt == "csv":
        return formats.to_csv(TRANSCRIPT_COLUMNS, transcript_rows(t))
    return transcript_text(t)
