"""Commands that send or write what people read: digest and notices."""
from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import click

from courtsync.errors import EXIT_OK, EXIT_SOURCE

if TYPE_CHECKING:
    from courtsync.app.digests import Delivery

from courtsync.cli.base import (
    DATE,
    as_of_option,
    cli,
    config_option,
    format_option,
    now,
    offline_option,
    open_context,
    today,
)


@cli.command("digest")
@config_option
@click.option("--week", metavar="YYYY-Www", help="The ISO week (default: this week).")
@click.option("--supervisor", "supervisor_id", metavar="ID", help="Only this supervisor's team.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write each digest as .txt and .html into this folder.")
@click.option("--send", is_flag=True, help="Queue each digest once per supervisor and week, and send it.")
@click.option("--resend", is_flag=True, help="With --send: send again even if already sent (not one still queued).")
@click.option("--mark-sent", is_flag=True, help="With --send: record the messages in doubt (unknown) as delivered "
                                                 "(after the mail server's log showed they arrived).")
@offline_option
@as_of_option
def digest_command(config_path: Path | None, week: str | None, supervisor_id: str | None, out_dir: Path | None,
                   send: bool, resend: bool, mark_sent: bool, offline: bool, as_of: date | None) -> None:
    """The weekly supervisor digest: conflicts ahead, new, still open and resolved. Exit 3 if anything is unsent
    or a calendar could not be read."""
    from courtsync.app import digests as weekly  # templates and mail load only for the commands that need them

    _with_send(send, resend, mark_sent)
    ctx = open_context(config_path, as_of)
    digests = weekly.team_digests(ctx, today(as_of), now, offline, week, supervisor_id)
    rendered = weekly.render_all(ctx, digests)
    for r in rendered:
        d = r.digest
        state = "all clear" if d.all_clear else (f"{d.count('new')} new, {d.count('open')} open, "
                                                 f"{d.count('resolved')} resolved")
        click.echo(f"{d.supervisor.id:<8} {d.supervisor.name:<28} {d.week}  {state}"
                   + ("  (calendars not read!)" if d.unread else ""))
    if out_dir is not None:
        written = weekly.write_files(rendered, out_dir)
        click.echo(f"wrote {len(written)} file(s) to {out_dir}")
    code = EXIT_OK
    if send:
        queued, already, skipped, delivery = weekly.send(ctx, rendered, now, resend, mark_sent)
        click.echo(f"queued {queued}, already queued {already}, all-clears skipped {skipped}; sent {delivery.sent}")
        code = _report_delivery(delivery)
    if any(d.unread for d in digests):
        code = EXIT_SOURCE
    if not out_dir and not send:
        click.echo("(preview only: --out DIR writes the digests, --send emails them)")
    click.get_current_context().exit(code)


@cli.command("notices")
@config_option
@click.option("--court", "court_id", metavar="ID", help="Only this court.")
@click.option("--from", "first", type=DATE, help="First date of the period, inclusive (default: today).")
@click.option("--to", "last", type=DATE, help="Last date, inclusive (default: six months on).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write each letter as PDF, HTML and text into this folder.")
@click.option("--send", is_flag=True, help="Email each letter (PDF attached) to its court; recorded when sent.")
@click.option("--print", "print_batch", is_flag=True,
              help="Write one merged PDF and a mailing-labels CSV (into --out, else here); recorded as mailed.")
@click.option("--resend", is_flag=True, help="With --send: send again a letter whose email is in doubt (unknown).")
@click.option("--mark-sent", is_flag=True, help="With --send: record the messages in doubt (unknown) as delivered "
                                                 "(after the mail server's log showed they arrived).")
@click.option("--log", "show_log", is_flag=True, help="Show what each court (or --court) was told, and when.")
@click.option("--reprint", "reprint_court", metavar="COURT", help="Write the letter last recorded for COURT again.")
@click.option("--date", "letter_day", type=DATE, help="With --reprint: the letter recorded on this date.")
@format_option("table", "json", "csv")
@offline_option
@as_of_option
def notices_command(config_path: Path | None, court_id: str | None, first: date | None, last: date | None,
                    out_dir: Path | None, send: bool, print_batch: bool, resend: bool, mark_sent: bool,
                    show_log: bool, reprint_court: str | None, letter_day: date | None, fmt: str, offline: bool,
                    as_of: date | None) -> None:
    """Letters asking courts to respect protected dates; amended letters only where something changed.
    --log shows what each court was told; --reprint writes a recorded letter again."""
    from courtsync.app import notices as courts  # templates, PDF and mail load only for the commands that need them

    _with_send(send, resend, mark_sent)
    if reprint_court and click.get_current_context().get_parameter_source("fmt") != click.core.ParameterSource.DEFAULT:
        raise click.UsageError("--format goes with --log: --reprint writes the letter as it went (PDF, HTML, text).")
    ctx = open_context(config_path, as_of)
    if show_log or reprint_court or letter_day:
        from courtsync.app import notice_log
        from courtsync.presenters.notice_log import log_text

        answer = notice_log.show(ctx, show_log, court_id, reprint_court, letter_day, out_dir, send or print_batch)
        click.echo(log_text(answer, fmt, court_id), nl=False)
        return
    outcomes, warnings = courts.letters(ctx, today(as_of), now, offline, court_id, first, last)
    for w in warnings:
        click.echo(f"courtsync: warning: {w}", err=True)
    found = [o.letter for o in outcomes if o.letter is not None]
    for o in outcomes:
        extra = ""
        if o.letter is not None:
            staff = {w for d in o.letter.dates for w, _, _ in d.staff}
            extra = f": {len(o.letter.dates)} date(s), {len(staff)} staff"
            if o.letter.amended:
                extra += f", {len(o.letter.changes)} change(s)"
            if o.letter.late:
                click.echo(f"courtsync: warning: {o.court_id}: {o.letter.late}", err=True)
        click.echo(f"{o.court_id:<12} {o.note}{extra}")
    rendered = courts.render_all(ctx, found)
    code = EXIT_SOURCE if warnings else EXIT_OK
    if out_dir is not None and rendered:
        written = courts.write_files(rendered, out_dir)
        click.echo(f"wrote {len(written)} file(s) to {out_dir}")
    if print_batch and rendered:
        pdf, labels = courts.print_batch(ctx, rendered, out_dir or Path("."), now)
        click.echo(f"print batch: {pdf} and {labels} (recorded as told by mail)")
    if send:   # with no new letter too: one in doubt is still reported, and --mark-sent settles it
        queued, already, no_email, delivery = courts.send(ctx, rendered, now, resend, mark_sent, court_id)
        click.echo(f"queued {queued}, already queued {already}; sent {delivery.sent}")
        for cid in no_email:
            click.echo(f"  not emailed: {cid} has no email in courtsync.toml; use --print", err=True)
        if _report_delivery(delivery) != EXIT_OK or no_email:
            code = EXIT_SOURCE
    if not (out_dir or send or print_batch) and rendered:
        click.echo("(preview only: --out DIR writes the letters, --send emails them, --print makes a print batch)")
    click.get_current_context().exit(code)


def _with_send(send: bool, resend: bool, mark_sent: bool) -> None:
    """--resend and --mark-sent change what --send does: alone they would do nothing, silently."""
    for flag, given in (("--resend", resend), ("--mark-sent", mark_sent)):
        if given and not send:
            raise click.UsageError(f"{flag} goes with --send (it changes what --send does); add --send.")


def _report_delivery(delivery: Delivery) -> int:
    """What did not go (on stderr), and the exit code: 3 unless every message is settled."""
    for line in delivery.problems():
        click.echo(line, err=True)
    for line in delivery.notes():
        click.echo(line)
    return EXIT_OK if delivery.complete else EXIT_SOURCE
