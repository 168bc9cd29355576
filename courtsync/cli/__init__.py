"""The command line: each command parses, calls one use case in app/, prints, exits with product.md's codes.

The only package that imports click: the frame is in base.py, the commands in calendar_commands.py,
mail_commands.py, enroll_commands.py, db_commands.py and serve_commands.py."""

from __future__ import annotations

import gc
import sys
import time as time_module
from pathlib import Path

from courtsync import context
from courtsync.cli import (
    attendance_commands,
    calendar_commands,
    db_commands,
    enroll_commands,
    mail_commands,
    serve_commands,
)
from courtsync.cli.base import cli
from courtsync.presenters import formats

# importing the command modules registers them
__all__ = ["attendance_commands", "calendar_commands", "cli", "db_commands", "enroll_commands", "mail_commands",
           "main", "serve_commands"]


def main() -> None:
    context.main_began.append(time_module.monotonic())
    _started_as_package()
    # What the imports made (some 30,000 objects: modules, classes, functions) lives as long as the process: it
    # is set apart from here on, so that no collection, neither those a command triggers nor the interpreter's
    # at exit, walks it again (40 ms of every command). Nothing a command opens is among it: the store is opened
    # after this, by the command, and closed by it (cli.base.open_context), never left to the collector.
    gc.freeze()
    try:
        cli(prog_name="courtsync")
    finally:
        formats.flush_stdout()


def _started_as_package() -> None:
    """Run as the `courtsync` script, this process is marked as started by `python -m courtsync`: a process it
    spawns (a reader of the sync's pool) then starts clean, where it would otherwise run the script again first,
    and with it import the whole command line (a third of a second for each reader). Only courtsync's own
    script: another program that calls main() keeps its __main__ as it is."""
    script = sys.modules.get("__main__")
    name = Path(getattr(script, "__file__", None) or "").name
    if script is not None and getattr(script, "__spec__", None) is None and name.startswith("courtsync"):
        from importlib.util import find_spec

        script.__spec__ = find_spec("courtsync.__main__")
