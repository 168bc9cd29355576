"""jinja2 rendering: templates from templates/ (or an agency's own folder), strict and HTML-escaped.

Feed text only ever arrives as a variable, never as template source.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path
from typing import Any

import jinja2


def environment(override: Path | None = None) -> jinja2.Environment:
    """An agency may put its own copies of the templates in `override`; the shipped ones fill the gaps."""
    shipped = str(importlib.resources.files("courtsync.templates"))
    loaders: list[jinja2.BaseLoader] = [jinja2.FileSystemLoader(shipped)]
    if override is not None:
        loaders.insert(0, jinja2.FileSystemLoader(str(override)))
    return jinja2.Environment(loader=jinja2.ChoiceLoader(loaders), undefined=jinja2.StrictUndefined,
                              autoescape=jinja2.select_autoescape(["html", "html.j2"]), keep_trailing_newline=True,
                              trim_blocks=True, lstrip_blocks=True)


def render(env: jinja2.Environment, name: str, **context: Any) -> str:
    return env.get_template(name).render(**context)
