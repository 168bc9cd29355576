"""What `notices --log` and `--reprint` print: the log as a table, JSON or CSV, or the files written again."""

from __future__ import annotations

from pathlib import Path

from courtsync.app.notice_log import LogEntry
from courtsync.presenters import formats

LOG_COLUMNS = ("court", "when", "how", "kind", "status", "first", "last", "dates", "reprint")


def _days(days: list[str], shown: int = 4) -> str:
    if not days:
        return "-"
    return ", ".join(days[:shown]) + (f" (+{len(days) - shown} more)" if len(days) > shown else "")


def log_text(answer: list[LogEntry] | list[Path], fmt: str, court_id: str | None) -> str:
    if answer and isinstance(answer[0], Path):
        return f"reprinted: {', '.join(str(p) for p in answer)} (nothing new recorded)\n"
    entries = [e for e in answer if isinstance(e, LogEntry)]
    if fmt == "json":
        return formats.to_json({"notices": [e.as_dict() for e in entries]}) + "\n"
    if fmt == "csv":
        return formats.to_csv(LOG_COLUMNS, [e.row() for e in entries])
    if not entries:
        return "No letter is recorded" + (f" for {court_id}.\n" if court_id else ".\n")
    rows = [[*e.row()[:5], f"{e.first} to {e.last}", _days(e.days), e.row()[8]] for e in entries]
    return formats.to_table(("Court", "When", "How", "Kind", "Status", "Period", "Dates", "Reprint"), rows) + "\n"
