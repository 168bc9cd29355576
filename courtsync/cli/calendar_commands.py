"""Commands over dates and calendars: init, dates, check, scan, sync, events."""
from __future__ import annotations

import sys
from datetime import date, time
from pathlib import Path

import click

from courtsync.app import check as check_case
from courtsync.app import scan as scan_case
from courtsync.app import sync as sync_case
from courtsync.app.check import CalendarView
from courtsync.app.sync import SyncReport
from courtsync.cli.base import (
    DATE,
    TimeRangeParam,
    as_of_option,
    cli,
    config_option,
    format_option,
    now,
    offline_option,
    open_context,
    today,
)
from courtsync.errors import EXIT_CONFLICTS, EXIT_OK, EXIT_SOURCE, UsageError, most_severe
from courtsync.models import Problem
from courtsync.presenters import formats, terminal
from courtsync.presenters import shapes as views


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite example files that already exist.")
@as_of_option
def init(directory: Path, force: bool, as_of: date | None) -> None:
    """Write a working example (config, roster, two court feeds) into DIRECTORY."""
    from courtsync.app import example as example_case  # its templates (jinja2) load only for this command

    click.echo(example_case.init_example(directory, today(as_of), force=force, as_of_given=as_of is not None))


@cli.command()
@config_option
@click.option("--worker", "worker_id", metavar="ID", help="Sessions of this worker's collaboratives.")
@click.option("--collaborative", "collaborative_id", metavar="ID", help="Sessions of one collaborative.")
@click.option("--court", "court_id", metavar="ID", help="Sessions of the staff who appear before a court.")
@click.option("--from", "first", type=DATE, help="First date, inclusive (default: today).")
@click.option("--to", "last", type=DATE, help="Last date, inclusive (default: no limit).")
@click.option("--all", "show_all", is_flag=True, help="Include past sessions (ignores the --from default).")
@format_option("table", "json", "csv", "ics")
@as_of_option
def dates(config_path: Path | None, worker_id: str | None, collaborative_id: str | None,
          court_id: str | None, first: date | None, last: date | None, show_all: bool, fmt: str,
          as_of: date | None) -> None:
    """Protected sessions; --format ics writes a calendar to import or subscribe to."""
    from courtsync.app import dates as dates_case

    ctx = open_context(config_path, as_of)
    if first is None and not show_all:
        first = today(as_of)
    if fmt == "ics":  # changes are stamped now, or at midnight of --as-of (so a replay is byte-stable)
        ics = dates_case.dates_ics(ctx, worker_id, collaborative_id, court_id, first, last, as_of, now())
        click.echo("".join(f"courtsync: warning: {w}\n" for w in ics.warnings), err=True, nl=False)
        sys.stdout.buffer.write(ics.data)
        return
    result = dates_case.protected_dates(ctx, worker_id=worker_id, collaborative_id=collaborative_id,
                                 court_id=court_id, first=first, last=last)
    if fmt == "json":
        click.echo(formats.to_json(views.dates_json(result)))
    elif fmt == "csv":
        click.echo(formats.to_csv(views.DATES_COLUMNS, views.dates_rows(result)), nl=False)
    else:
        click.echo(result.title + views.range_text(result.first, result.last))
        if not result.sessions:
            click.echo("No protected sessions in this range.")
            return
        rows = [[r[0], r[1], f"{r[2]}–{r[3]}", r[5], r[8]] for r in views.dates_rows(result)]
        click.echo(formats.to_table(("Date", "Day", "Time", "Collaborative", "Notes"), rows))
        flagged = sum(1 for r in result.sessions if r.session.holiday and r.session.active)
        click.echo(f"\n{sum(1 for r in result.sessions if r.session.active)} protected session(s)"
                   + (f"; {flagged} on a court holiday (kept, flagged: the agency decides)" if flagged else "")
                   + ".")


@cli.command()
@config_option
@click.option("--worker", "worker_id", metavar="ID", required=True, help="The worker's id (workers.csv).")
@click.option("--date", "day", type=DATE, help="The proposed hearing date (without it: upcoming conflicts).")
@click.option("--time", "clock", type=TimeRangeParam(), help="The proposed hearing time, HH:MM-HH:MM.")
@click.option("--court", "court_id", metavar="ID", help="The court (its buffer applies).")
@click.option("--suggest", "suggest_n", type=click.IntRange(0, 60), default=None,
              help="How many free dates to suggest (default 3 when the date is taken).")
@offline_option
@format_option("table", "json", "csv")
@as_of_option
def check(config_path: Path | None, worker_id: str, day: date | None, clock: tuple[time, time] | None,
          court_id: str | None, suggest_n: int | None, offline: bool, fmt: str, as_of: date | None) -> None:
    """Is a hearing date free for this worker? Exit 0 free, 1 taken, 3 unknown (a calendar of theirs unread)."""
    ctx = open_context(config_path, as_of)
    if day is None:
        if clock is not None or suggest_n is not None:
            raise click.UsageError("--time and --suggest go with --date")
        _print_scan(check_case.upcoming(ctx, today(as_of), now, offline, worker_id), fmt, title="Upcoming conflicts")
        return
    result, view = check_case.check_date(ctx, today(as_of), now, offline, worker_id, day, clock, suggest_n, court_id)
    with formats.answer_output():
        if fmt == "json":
            click.echo(formats.to_json(views.check_json(result, view)))
        elif fmt == "csv":
            click.echo(formats.to_csv(views.CHECK_COLUMNS, views.check_rows(result)), nl=False)
        else:
            word, colour = views.VERDICT_WORDS[result.verdict]
            click.echo(views.check_text(result, click.style(word, fg=colour, bold=True), suggest_n))
    # A taken date is taken whatever else is unread (exit 1); free only over calendars all read (exit 0).
    code = {"conflict": EXIT_CONFLICTS, "unknown": EXIT_SOURCE, "free": EXIT_OK}[result.verdict]
    _print_sources(view, exit_note=code == EXIT_SOURCE)
    click.get_current_context().exit(code)


@cli.command("scan")
@config_option
@click.option("--from", "first", type=DATE, help="First session date, inclusive (default: today).")
@click.option("--to", "last", type=DATE, help="Last session date, inclusive (default: six months on).")
@click.option("--worker", "worker_ids", metavar="ID", multiple=True, help="Only these workers (repeatable).")
@offline_option
@format_option("table", "json", "csv")
@as_of_option
def scan_command(config_path: Path | None, first: date | None, last: date | None, worker_ids: tuple[str, ...],
                 offline: bool, fmt: str, as_of: date | None) -> None:
    """Every conflict between a protected session and a hearing or Outlook item. Exit 1 if any, 3 if incomplete."""
    ctx = open_context(config_path, as_of)
    if first and last and last < first:
        raise click.UsageError(f"--to {last} is before --from {first}")
    _print_scan(scan_case.scan(ctx, today(as_of), now, offline, first, last, worker_ids), fmt, title="Conflicts")


def _print_scan(result: scan_case.ScanResult, fmt: str, title: str) -> None:
    with formats.answer_output():
        if fmt == "json":
            click.echo(formats.to_json(views.scan_json(result)))
        elif fmt == "csv":
            click.echo(formats.to_csv((*views.CONFLICT_COLUMNS, "flags", "matched_by"), views.scan_rows(result)),
                       nl=False)
        else:
            click.echo(views.scan_text(result, title))
            for note in result.notes:
                click.echo(f"note: {note}")
            _print_problems(result.view.problems)
    _print_sources(result.view)
    code = EXIT_SOURCE if result.view.incomplete else (EXIT_CONFLICTS if result.found else EXIT_OK)
    click.get_current_context().exit(code)


def _print_sources(view: CalendarView, exit_note: bool = True) -> None:
    bad = view.unread
    if not view.sources:
        click.echo("note: no calendar sources " + ("hold these items" if view.configured else "configured")
                   + "; only protected dates were checked.", err=True)
        return
    for s in bad:
        label = click.style(s.status.upper(), fg="red" if s.status == "error" else "yellow", bold=True)
        click.echo(f"{label} {s.id}: {s.error}", err=True)
    why = (f"{len(bad)} of {len(view.sources)} source(s) not read now." if bad else "") + f" {view.horizon or ''}"
    if why.strip():
        click.echo(f"courtsync: warning: {why.strip()} The answer may be incomplete"
                   + (" (exit 3)." if exit_note else "."), err=True)


def _print_problems(problems: list[Problem], limit: int = 50) -> None:
    if not problems:
        return
    click.echo(f"\n{len(problems)} item(s) could not be read as written:")
    for p in problems[:limit]:
        click.echo(f"  {p.location}: {p.reason}")
    if len(problems) > limit:
        click.echo(f"  ... and {len(problems) - limit} more (use --format json for all)")


@cli.command("sync")
@config_option
@click.option("--source", "source_id", metavar="ID", help="Read only this source (a court id, cook-cpd#2, "
                                                          "calendar:WORKER).")
@click.option("--accept", "accept_id", metavar="ID", help="Read this source and take what it serves, even if it "
                                                          "dropped most of its upcoming items (a held read).")
@as_of_option
def sync_command(config_path: Path | None, source_id: str | None, accept_id: str | None, as_of: date | None) -> None:
    """Read court feeds and personal calendars into the local store. Exit 2 if a source is configured wrong (its
    password variable unset), else 3 if any source failed or was held."""
    ctx = open_context(config_path, as_of)
    if accept_id is not None and source_id not in (None, accept_id):
        raise UsageError(f"--accept {accept_id} reads only that source; leave out --source {source_id}.")
    sources = sync_case.select_sources(ctx, accept_id or source_id)
    if not sources:
        click.echo("No calendar sources configured: add feeds to a [[court]] or a calendar column to workers.csv.")
        return
    width = max(len(s.id) for s in sources)

    def line(r: SyncReport) -> None:
        click.echo(views.report_line(r, width))

    accept = frozenset({accept_id} if accept_id else ())
    if terminal.wanted():
        with terminal.sync_progress(sources, click.echo) as show:
            reports = sync_case.run_sync(ctx, sources, today(as_of), now, lambda r: show(views.report_line(r, width)),
                                    accept)
    else:
        reports = sync_case.run_sync(ctx, sources, today(as_of), now, line, accept)
    failed = [r for r in reports if r.outcome in ("failed", "abandoned", "skipped")]
    held = [r for r in reports if r.outcome == "held" or r.held]
    total = sum(r.seconds for r in reports)
    click.echo(f"\n{len(reports) - len(failed) - sum(r.outcome == 'held' for r in reports)} of {len(reports)} "
               f"source(s) read in {total:.2f} s, "
               f"{sum(r.round_trips for r in reports)} request(s)"
               + (f"; {len(failed)} failed" if failed else "") + (f"; {len(held)} held" if held else "") + ".")
    code = most_severe(r.exit_code for r in reports)   # a configuration to fix (2) before a source to wait on (3)
    if code != EXIT_OK:
        click.get_current_context().exit(code)


@cli.command("events")
@config_option
@click.option("--source", "source_id", metavar="ID", help="Only this source.")
@click.option("--worker", "worker_id", metavar="ID", help="Only items that belong to this worker.")
@click.option("--from", "first", type=DATE, help="First date, inclusive (default: today).")
@click.option("--to", "last", type=DATE, help="Last date, inclusive (default: no limit).")
@click.option("--all", "show_all", is_flag=True, help="Include past items (ignores the --from default).")
@offline_option
@format_option("table", "json", "csv")
@as_of_option
def events_command(config_path: Path | None, source_id: str | None, worker_id: str | None, first: date | None,
                   last: date | None, show_all: bool, offline: bool, fmt: str, as_of: date | None) -> None:
    """The calendar items exactly as courtsync understood them, and what it could not read."""
    from courtsync.app import events as events_case

    ctx = open_context(config_path, as_of)
    if first is None and not show_all:
        first = today(as_of)
    result = events_case.events(ctx, today(as_of), now, offline, source_id, worker_id, first, last)
    with formats.answer_output():   # exit 3 when incomplete, even if the reader stops early
        if fmt == "json":
            click.echo(formats.to_json(views.events_json(result)))
        elif fmt == "csv":
            click.echo(formats.to_csv(views.EVENT_COLUMNS, views.events_rows(result)), nl=False)
        else:
            rows = [[f"{i.start:%Y-%m-%d}" if i.all_day else f"{i.start:%Y-%m-%d %H:%M}",
                     "all day" if i.all_day else (f"{i.end:%H:%M}" if i.end else "(no end)"),
                     i.source, "busy" if i.busy else "free", ",".join(i.case_numbers) or "-",
                     ",".join(i.worker_ids) or "-", views.short(i.summary, 40), ", ".join(i.flags)]
                    for i in result.items]
            click.echo(f"{len(result.items)} item(s) from {len(result.view.sources)} source(s)"
                       + views.range_text(result.first, result.last))
            if rows:
                click.echo(formats.to_table(("Start", "End", "Source", "Busy", "Case", "Workers", "Summary", "Notes"),
                                            rows))
            _print_problems(result.view.problems)
    _print_sources(result.view)
    if result.view.incomplete:
        click.get_current_context().exit(EXIT_SOURCE)
