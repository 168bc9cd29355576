"""Output shared by the commands: JSON values, formula-safe CSV, aligned text tables, a stdout reader that left."""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn

from courtsync.core.cells import jsonable, safe_cell

__all__ = ["answer_output", "flush_stdout", "jsonable", "reader_gone", "safe_cell", "to_csv", "to_json", "to_table"]



def to_json(value: Any) -> str:
    return json.dumps(jsonable(value), indent=2, ensure_ascii=False)


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return buffer.getvalue()


def to_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Columns padded to their widest cell; the last column is never padded."""
    cells = [[str(h) for h in header]] + [["" if v is None else str(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = []
    for n, row in enumerate(cells):
        line = "  ".join(c.ljust(widths[i]) if i < len(row) - 1 else c for i, c in enumerate(row))
        lines.append(line.rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def reader_gone() -> NoReturn:
    """Whoever read a listing has stopped (`courtsync dates | head`): their choice, not an error. Exit 0."""
    _discard_stdout()
    sys.exit(0)


@contextmanager
def answer_output() -> Iterator[None]:
    """Print an answer whose exit code is decided (scan, check, events: 1 conflicts, 3 incomplete). A reader
    that stops early cut the output, not the answer: the rest of stdout is dropped and the command goes on to
    its notes on stderr and its exit code."""
    try:
        yield
        sys.stdout.flush()
    except BrokenPipeError:
        _discard_stdout()


def _discard_stdout() -> None:
    # What is still buffered goes to /dev/null instead of ending in an "Exception ignored" at exit.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def flush_stdout() -> None:
    """Flush while a reader that has gone can still be told apart from an error (at exit it cannot)."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        reader_gone()
