"""PURE: a value as JSON-ready data and as a spreadsheet cell that can never run as a formula."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def jsonable(value: Any) -> Any:
    """Datetimes as ISO 8601 with their offset, dates as YYYY-MM-DD, tuples as lists."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def safe_cell(value: Any) -> str:
    """A spreadsheet must never run a cell as a formula: prefix ' to risky starts."""
    if isinstance(value, bool):   # as JSON writes them, not Python's True/False
        return "true" if value else "false"
    text = "" if value is None else str(jsonable(value))
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text
