"""`courtsync enroll`: ranked choices into cohorts, committed as membership, confirmed to supervisors."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from courtsync.cli.base import as_of_option, cli, config_option, format_option, now, open_context, today
from courtsync.errors import EXIT_CONFLICTS, EXIT_OK, EXIT_SOURCE, most_severe


@cli.command("enroll")
@config_option
@click.option("--registrations", "registrations", metavar="FILE",
              help="registrations.csv: worker_id,choice_1,choice_2,choice_3 (default: [roster] registrations).")
@click.option("--commit", is_flag=True, help="Record the assignment: it becomes those workers' membership.")
@click.option("--rebalance", is_flag=True, help="Optimise everyone registered again, moving enrolled people "
                                                "where that is better (every move is listed).")
@click.option("--send", is_flag=True, help="Email each enrolled worker's supervisor a confirmation (once per "
                                           "enrollment; an update when it changes).")
@format_option("table", "json", "csv")
@as_of_option
def enroll_command(config_path: Path | None, registrations: str | None, commit: bool, rebalance: bool, send: bool,
                   fmt: str, as_of: date | None) -> None:
    """Assign each registered worker to one of their ranked choices: as many placed as capacities allow, then
    as many first choices, then second, then third, then cohorts as even as possible. Exit 1 when someone could
    not be placed."""
    from courtsync.app import enroll as enrollment  # the solver loads only for this command
    from courtsync.presenters.enrollment import render

    ctx = open_context(config_path, as_of)
    transport = enrollment.mail_for(ctx) if send else None
    plan = enrollment.enroll(ctx, today(as_of), now, registrations, rebalance, commit)
    for note in plan.notes:
        click.echo(f"courtsync: note: {note}", err=True)
    click.echo(render(plan, fmt), nl=False)
    codes = [EXIT_CONFLICTS if plan.unplaced else EXIT_OK]
    if transport is not None:
        queued, already, notes, delivery = enrollment.send_confirmations(ctx, today(as_of), now, transport)
        for note in notes:   # a confirmation that cannot go: sending is incomplete (exit 3)
            click.echo(f"courtsync: warning: {note}", err=True)
        if queued or already or delivery.sent or not delivery.complete:
            click.echo(f"confirmations: queued {queued}, already queued {already}; sent {delivery.sent}", err=True)
        else:
            click.echo("confirmations: none new (every supervisor has been told of each enrollment as it is)",
                       err=True)
        for line in delivery.problems():
            click.echo(line, err=True)
        codes.append(EXIT_OK if delivery.complete and not notes else EXIT_SOURCE)
    click.get_current_context().exit(most_severe(codes))
