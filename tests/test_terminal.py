"""What a person sees on a terminal: a real pseudo-terminal, read back through a terminal emulator (pyte)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests import test_sync_events
from tests.conftest import Run
from tests.feed_server import FeedServer, Route, serve_feed
from tests.store_sql import store_sql
from tests.terminal import on_terminal
from tests.test_sync_events import cfg

server = test_sync_events.server   # the loopback feed server fixture


def report_lines(screen: list[str]) -> list[str]:
    return [line for line in screen if line.startswith(("cook-cpd", "will-juv"))]


def test_the_progress_bar_leaves_no_fragments_in_the_terminal(example_dir: Path) -> None:
    shown = on_terminal("sync", *cfg(example_dir), stdout_on_terminal=True)
    assert shown.code == 0
    assert b"syncing" in shown.terminal   # the bar was there while it read
    assert not any("syncing" in line or "━" in line for line in shown.screen), "\n".join(shown.screen)
    lines = report_lines(shown.screen)
    assert [line.split()[:2] for line in lines] == [["cook-cpd", "read"], ["will-juv", "read"]]
    assert shown.screen[-1].startswith("2 of 2 source(s) read")


def test_sync_lines_go_to_a_redirected_stdout_and_the_bar_stays_on_the_terminal(example_dir: Path) -> None:
    shown = on_terminal("sync", *cfg(example_dir), stdout_on_terminal=False)
    assert shown.code == 0
    out = shown.stdout.decode()
    assert [line.split()[:2] for line in report_lines(out.splitlines())] == [["cook-cpd", "read"],
                                                                              ["will-juv", "read"]]
    assert "syncing" not in out and "\x1b" not in out   # no bar, no terminal codes in the file
    assert not any(line.strip() for line in shown.screen), "\n".join(shown.screen)   # nothing left on screen


def slow_will(example_dir: Path, server: FeedServer, run: Callable[..., Run]) -> None:
    """will-juv served over HTTP, read once; then two hours pass and the feed takes 1.5 s to answer."""
    body = serve_feed(example_dir, server)
    assert run("sync", *cfg(example_dir)).exit_code == 0
    store_sql(example_dir, "UPDATE sources SET synced_at = synced_at - 7200 WHERE id = 'will-juv'")
    server.routes["/will.ics"] = Route(body=body, delay=1.5, etag=False)


def test_a_wait_over_a_second_says_what_is_read_on_the_terminal(example_dir: Path, server: FeedServer,
                                                               run: Callable[..., Run]) -> None:
    slow_will(example_dir, server, run)
    shown = on_terminal("events", *cfg(example_dir), "--format", "json", stdout_on_terminal=False)
    assert shown.code == 0
    assert "reading 1 calendar (will-juv)…".encode() in shown.terminal
    assert not any("reading" in line for line in shown.screen), "\n".join(shown.screen)   # erased when done
    assert b"reading" not in shown.stdout and shown.stdout.startswith(b"{")


def test_a_slow_sync_of_one_source_says_what_it_reads(example_dir: Path, server: FeedServer,
                                                      run: Callable[..., Run]) -> None:
    slow_will(example_dir, server, run)
    shown = on_terminal("sync", *cfg(example_dir), "--source", "will-juv", stdout_on_terminal=True)
    assert shown.code == 0
    assert "reading 1 calendar (will-juv)…".encode() in shown.terminal
    assert [line.split()[:2] for line in report_lines(shown.screen)] == [["will-juv", "read"]]
    assert not any("reading" in line for line in shown.screen), "\n".join(shown.screen)


def test_a_command_that_does_not_wait_shows_nothing_on_the_terminal(example_dir: Path,
                                                                     run: Callable[..., Run]) -> None:
    assert run("sync", *cfg(example_dir)).exit_code == 0
    shown = on_terminal("events", *cfg(example_dir), "--format", "json", stdout_on_terminal=False)
    assert shown.code == 0 and shown.terminal == b""
