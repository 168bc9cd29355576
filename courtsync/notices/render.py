"""jinja2 rendering: templates from templates/ (or an agency's own folder), strict and HTML-escaped.

Feed text only ever arrives as a variable, never as template source.
"""

from __future__ import annotations

import importlib.resources
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jinja2

from courtsync.errors import UsageError
from courtsync.private_files import make_folder, write_file


def environment(override: Path | None = None) -> jinja2.Environment:
    """An agency may put its own copies of the templates in `override`; the shipped ones fill the gaps."""
    shipped = str(importlib.resources.files("courtsync.templates"))
    loaders: list[jinja2.BaseLoader] = [jinja2.FileSystemLoader(shipped)]
    if override is not None:
        loaders.insert(0, jinja2.FileSystemLoader(str(override)))
    return jinja2.Environment(loader=jinja2.ChoiceLoader(loaders), undefined=jinja2.StrictUndefined,
                              autoescape=jinja2.select_autoescape(["html", "html.j2"]), keep_trailing_newline=True,
                              trim_blocks=True, lstrip_blocks=True)


def for_agency(config_dir: Path) -> jinja2.Environment:
    """The shipped templates, with any the agency put in a `templates/` folder beside courtsync.toml first."""
    folder = config_dir / "templates"
    return environment(folder.resolve() if folder.is_dir() else None)


def write_named(folder: Path, stem: str, bodies: Iterable[tuple[str, str | bytes]]) -> list[Path]:
    """Write STEM.SUFFIX for each (suffix, body) into folder. Ids may hold dots ("il.cook"), so the suffix is
    appended, never substituted for the text after the stem's last dot; anything but [A-Za-z0-9_.-] becomes _."""
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", stem).lstrip(".")
    written = []
    path = folder
    try:
        make_folder(folder)   # letters and digests name staff: owner-only, as the store is
        for suffix, body in bodies:
            path = folder / (stem + suffix)
            write_file(path, body.encode() if isinstance(body, str) else body)
            written.append(path)
    except OSError as exc:
        raise UsageError(f"Cannot write {path}: {exc.strerror or exc}.",
                         hint="Choose an --out folder you can write to, with free space.") from None
    return written


def render(env: jinja2.Environment, name: str, **context: Any) -> str:
    return env.get_template(name).render(**context)


def letter_file_stem(court_id: str, amended: bool, letter_date: str) -> str:
    kind = "amended" if amended else "letter"
    return re.sub(r"[^A-Za-z0-9_.-]", "_", f"{kind}-{court_id}-{letter_date}")
