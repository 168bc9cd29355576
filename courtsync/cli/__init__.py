"""The command line: each command parses, calls one use case in app/, prints, exits with product.md's codes.

The only package that imports click: the frame is in base.py, the commands in calendar_commands.py and
mail_commands.py."""

from __future__ import annotations

import gc
import time as time_module

from courtsync import context
from courtsync.cli import calendar_commands, mail_commands
from courtsync.cli.base import cli
from courtsync.presenters import formats

__all__ = ["calendar_commands", "cli", "mail_commands", "main"]   # importing the command modules registers them


def main() -> None:
    context.main_began.append(time_module.monotonic())
    try:
        cli(prog_name="courtsync")
    finally:  # the process ends: spare its last garbage collection the walk over all it holds
        gc.freeze()
        formats.flush_stdout()
