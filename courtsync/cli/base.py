"""The command line's frame: the click group that turns a CourtsyncError into a clean message and exit code,
and the options and parameter types every command shares."""
from __future__ import annotations

import time as time_module
from collections.abc import Callable
from datetime import date, time
from pathlib import Path
from typing import IO, Any, TypeVar

import click

from courtsync import __version__, context
from courtsync.config.fields import parse_day, parse_time_range
from courtsync.errors import CourtsyncError
from courtsync.presenters import formats, terminal

F = TypeVar("F", bound=Callable[..., Any])


class CliError(click.ClickException):
    """A CourtsyncError as click shows it: message on stderr, product.md's exit code, no traceback."""

    def __init__(self, error: CourtsyncError) -> None:
        super().__init__(str(error))
        self.code = error.exit_code

    @property
    def exit_code(self) -> int:  # type: ignore[override]  # click reads this when it exits
        return self.code

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"courtsync: error: {self.format_message()}", err=True)


class CourtsyncGroup(click.Group):
    """Turns every CourtsyncError into a clean message, in this one place."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CourtsyncError as exc:
            raise CliError(exc) from None
        except BrokenPipeError:   # before click's own handling, which exits 1
            formats.reader_gone()


class DateParam(click.ParamType):  # type: ignore[type-arg]
    name = "DATE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        try:   # a date in year 1 or 9999 would overflow the date arithmetic after it: refused here
            return parse_day(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class TimeRangeParam(click.ParamType):  # type: ignore[type-arg]
    name = "HH:MM-HH:MM"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> tuple[time, time]:
        try:
            return value if isinstance(value, tuple) else parse_time_range(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


DATE = DateParam()


def config_option(f: F) -> F:
    # `courtsync --config a.toml check ...` as well as `courtsync check --config a.toml ...` (which wins)
    return click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
                        callback=lambda ctx, _, value: ctx.parent.params.get("config_path") if value is None
                        and ctx.parent is not None else value,
                        help="courtsync.toml to use (else $COURTSYNC_CONFIG, else ./courtsync.toml).")(f)


def as_of_option(f: F) -> F:
    return click.option("--as-of", "as_of", type=DATE, default=None,
                        help="Treat this date as today (YYYY-MM-DD).")(f)


def format_option(*choices: str) -> Callable[[F], F]:
    return click.option("--format", "fmt", type=click.Choice(choices), default=choices[0],
                        show_default=True, help=f"table for people; {', '.join(choices[1:])} for programs.")


def offline_option(f: F) -> F:
    return click.option("--offline", is_flag=True,
                        help="Use what the store holds; do not re-read sources older than max_age.")(f)


def today(as_of: date | None) -> date:
    # The only place courtsync reads the clock: everything below takes "today" as an argument.
    return as_of or date.today()


@click.group(cls=CourtsyncGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="courtsync")
@config_option
def cli(config_path: Path | None) -> None:
    """Keep court hearings off the protected Learning Collaborative dates of child-welfare staff."""
    # A command's deadline counts from the start of its process (imports take a second on a busy machine).
    context.begin_command()
    if terminal.wanted() and not context.wait_display:
        context.wait_display.append(terminal.waiting)


def open_context(config_path: Path | None, as_of: date | None) -> context.Context:
    """The command's Context; its store is closed (the WAL folded in) when the command ends, however it ends."""
    return click.get_current_context().with_resource(context.load_context(config_path, today(as_of)))


def now() -> float:
    return time_module.time()
