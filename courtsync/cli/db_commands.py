"""Commands over the store itself: db upgrade."""
from __future__ import annotations

from pathlib import Path

import click

from courtsync.app import db as db_case
from courtsync.cli.base import cli, config_option


@cli.group("db")
@config_option
def db_group(config_path: Path | None) -> None:
    """The store: create it, or migrate one an earlier release wrote."""


@db_group.command("upgrade")
@config_option
def upgrade_command(config_path: Path | None) -> None:
    """Create the store or migrate it to this release's schema, and print what was done (version before -> after).
    Refused (exit 2) for a store a newer release wrote."""
    for line in db_case.describe(db_case.upgrade(config_path)):
        click.echo(line)
