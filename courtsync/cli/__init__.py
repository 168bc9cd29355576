"""The command line: each command parses, calls one use case in app/, prints, exits with product.md's codes.

The only package that imports click: the frame is in base.py, the commands in calendar_commands.py,
mail_commands.py and db_commands.py."""

from __future__ import annotations

import time as time_module

from courtsync import context
from courtsync.cli import calendar_commands, db_commands, mail_commands
from courtsync.cli.base import cli
from courtsync.presenters import formats

# importing the command modules registers them
__all__ = ["calendar_commands", "cli", "db_commands", "mail_commands", "main"]


def main() -> None:
    context.main_began.append(time_module.monotonic())
    try:
        cli(prog_name="courtsync")
    finally:
        formats.flush_stdout()
