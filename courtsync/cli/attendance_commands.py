"""`courtsync attendance`, `attendance import`, `makeup` and `transcript`."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from courtsync.cli.base import DATE, as_of_option, cli, config_option, format_option, now, open_context, today
from courtsync.errors import EXIT_CONFLICTS, EXIT_OK
from courtsync.presenters import formats


@cli.group("attendance", invoke_without_command=True)
@config_option
@click.option("--supervisor", "supervisor_id", metavar="ID", help="A supervisor's team.")
@click.option("--collaborative", "collaborative_id", metavar="ID", help="A collaborative's members.")
@click.option("--worker", "worker_id", metavar="ID", help="One worker.")
@format_option("table", "json")
@as_of_option
@click.pass_context
def attendance_command(click_ctx: click.Context, config_path: Path | None, supervisor_id: str | None,
                       collaborative_id: str | None, worker_id: str | None, fmt: str, as_of: date | None) -> None:
    """Who missed a session without a make-up, and by when one is due (exit 1 when anyone did); `attendance
    import FILE...` records sign-in sheets."""
    if click_ctx.invoked_subcommand is not None:
        click_ctx.obj = (config_path, as_of)
        return
    from courtsync.app.attendance import absences
    from courtsync.presenters.attendance import absences_json, absences_text

    ctx = open_context(config_path, as_of)
    found = absences(ctx, today(as_of), now, supervisor_id=supervisor_id, collaborative_id=collaborative_id,
                     worker_id=worker_id)
    click.echo(formats.to_json(absences_json(found)) if fmt == "json" else absences_text(found), nl=False)
    click_ctx.exit(EXIT_CONFLICTS if found.missed else EXIT_OK)


@attendance_command.command("import")
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@config_option
@format_option("table", "json")
@click.pass_context
def attendance_import(click_ctx: click.Context, files: tuple[str, ...], config_path: Path | None, fmt: str) -> None:
    """Record sign-in exports (date,collaborative_id,worker_id,hours). The same file again changes nothing; a
    corrected file replaces what it said. Bad rows are reported and skipped (exit 1); the rest is recorded."""
    from courtsync.app.attendance import import_signins
    from courtsync.presenters.attendance import import_json, import_text

    parent_config, as_of = click_ctx.obj or (None, None)
    ctx = open_context(config_path or parent_config, as_of)
    result = import_signins(ctx, files, now)
    for f in result.files:
        for p in f.problems:
            click.echo(f"courtsync: rejected: {p}", err=True)
    click.echo(formats.to_json(import_json(result)) if fmt == "json" else import_text(result), nl=False)
    if result.rejected:
        click.echo(f"courtsync: {result.rejected} row(s) rejected; fix them and import the file again (the rows "
                   "already recorded stay as they are).", err=True)
    click_ctx.exit(EXIT_CONFLICTS if result.rejected else EXIT_OK)


@cli.command("makeup")
@config_option
@click.option("--worker", "worker_id", metavar="ID", required=True)
@click.option("--session", "session", metavar="COLLAB:DATE", required=True,
              help="The session of another collaborative of the same kind, e.g. lc-south:2027-01-13.")
@click.option("--cancel", is_flag=True, help="Cancel the booking.")
@as_of_option
def makeup_command(config_path: Path | None, worker_id: str, session: str, cancel: bool, as_of: date | None) -> None:
    """Book a make-up seat (exit 1 when refused: full, outside makeup_window, or already held)."""
    from courtsync.app.makeup import book

    ctx = open_context(config_path, as_of)
    done = book(ctx, today(as_of), now, worker_id, session, cancel)
    click.echo(done.message, err=done.refused)
    click.get_current_context().exit(EXIT_CONFLICTS if done.refused else EXIT_OK)


@cli.command("transcript")
@config_option
@click.option("--worker", "worker_id", metavar="ID")
@click.option("--from", "first", type=DATE, default=None, help="First day (default: a year ago).")
@click.option("--to", "last", type=DATE, default=None, help="Last day (default: two months ahead).")
@format_option("table", "json", "csv", "pdf")
@click.option("--out", "out", metavar="FILE", help="Where to write the PDF (default: transcript-ID.pdf).")
@click.option("--verify", "code", metavar="CODE", help="Check a certificate's verification code (exit 1: not valid).")
@as_of_option
def transcript_command(config_path: Path | None, worker_id: str | None, first: date | None, last: date | None,
                       fmt: str, out: str | None, code: str | None, as_of: date | None) -> None:
    """A worker's sessions with status, hours and CEUs, and totals; --format pdf: a certificate to keep."""
    from courtsync.app import transcript as tr
    from courtsync.errors import UsageError
    from courtsync.presenters.attendance import transcript_out

    ctx = open_context(config_path, as_of)
    if code:
        checked = tr.verify(ctx, today(as_of), now, code)
        click.echo(checked.message)
        click.get_current_context().exit(EXIT_OK if checked.valid else EXIT_CONFLICTS)
    if not worker_id:
        raise UsageError("Give --worker ID (or --verify CODE).")
    if fmt == "pdf" and last is None:
        last = today(as_of)   # a certificate states what happened, not what is to come
    t = tr.transcript(ctx, today(as_of), now, worker_id, first, last)
    if fmt != "pdf":
        click.echo(transcript_out(t, fmt), nl=False)
        return
    path = Path(out or f"transcript-{t.worker.id}.pdf")
    tr.write_certificate(ctx, t, path, now)
    click.echo(f"wrote {path} (verification code {t.code()})")
