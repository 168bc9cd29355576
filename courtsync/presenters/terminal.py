"""What a person sees on a terminal while courtsync works: the sync bar and the line naming what a command waits for.

Everything here goes to stderr, and only when it is a terminal; stdout is never swapped or written to by rich
(rich's redirect would send stdout's lines to stderr, and `courtsync sync > log` would lose them)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

WAIT_SHOWN_AFTER = 1.0   # seconds: a shorter wait is not worth a line on the terminal


def wanted() -> bool:
    return sys.stderr.isatty()


@contextmanager
def waiting(sources: Sequence[Any]) -> Iterator[None]:
    """Once a command has waited WAIT_SHOWN_AFTER for its re-reads: "reading 2 calendars (cook-cpd, will-juv)…".
    Transient: the line is erased when the wait ends."""
    from rich.console import Console
    from rich.live import Live
    from rich.spinner import Spinner

    names = ", ".join(s.id for s in sources[:4]) + (", …" if len(sources) > 4 else "")
    text = f"reading {len(sources)} calendar{'s' if len(sources) != 1 else ''} ({names})…"
    live = Live(Spinner("dots", text), console=Console(stderr=True), transient=True, redirect_stdout=False,
                redirect_stderr=False, refresh_per_second=8)
    lock, ended = threading.Lock(), threading.Event()

    def show() -> None:
        if ended.wait(WAIT_SHOWN_AFTER):
            return
        with lock:   # never start once the wait has ended
            if not ended.is_set():
                live.start()

    threading.Thread(target=show, daemon=True).start()
    try:
        yield
    finally:
        with lock:
            ended.set()
            live.stop()


@contextmanager
def sync_progress(sources: Sequence[Any], echo: Callable[[str], Any]) -> Iterator[Callable[[str], None]]:
    """What `courtsync sync` shows while it reads: the bar for several sources; for one, the wait line, and its
    report line once that is gone."""
    if len(sources) > 1:
        with sync_bar(len(sources), echo) as step:
            yield step
        return
    lines: list[str] = []
    try:
        with waiting(sources):
            yield lines.append
    finally:
        for line in lines:
            echo(line)


@contextmanager
def sync_bar(total: int, echo: Callable[[str], Any]) -> Iterator[Callable[[str], None]]:
    """A transient bar on stderr; the callable prints one source's line (with `echo`, to stdout) and advances
    the bar. When stdout is that terminal too, lines go through the bar's console, which prints them above the
    bar: written past it, they were left on the bar's line and its remains stayed on the screen."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("syncing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True, redirect_stdout=False,
                  redirect_stderr=False) as bar:
        task = bar.add_task("sync", total=total)
        on_screen = sys.stdout.isatty()

        def step(line: str) -> None:
            if on_screen:
                bar.console.print(line, markup=False, highlight=False, soft_wrap=True)
            else:
                echo(line)
            bar.advance(task)

        yield step
