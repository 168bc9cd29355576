"""Where a setting of courtsync.toml sits (file:line and dotted key), and validation errors said there."""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from courtsync.errors import Located

_TABLE_ARRAY = re.compile(r"^\[\[\s*([^\]]+?)\s*\]\]")
_TABLE = re.compile(r"^\[\s*([^\]]+?)\s*\]")
_KEY = re.compile(r"""^("[^"]*"|'[^']*'|[A-Za-z0-9_.-]+)\s*=""")


def key_lines(text: str) -> dict[tuple[str | int, ...], int]:
    """Map each key path, e.g. ('collaborative', 0, 'until'), to its line number in the TOML text."""
    lines: dict[tuple[str | int, ...], int] = {}
    counters: dict[str, int] = {}
    current: tuple[str | int, ...] = ()
    for number, raw in enumerate(text.splitlines(), 1):
        s = raw.strip()
        if not s or s.startswith("#"):
            continue
        if m := _TABLE_ARRAY.match(s):
            name = m.group(1)
            index = counters.get(name, 0)
            counters[name] = index + 1
            current = (*name.split("."), index)
            lines[current] = number
        elif m := _TABLE.match(s):
            current = tuple(m.group(1).split("."))
            lines[current] = number
        elif m := _KEY.match(s):
            key = m.group(1).strip("\"'")
            lines.setdefault((*current, *key.split(".")), number)
    return lines


def explain(exc: ValidationError, path: Path | None, text: str, root: type[BaseModel]) -> list[Located]:
    """Each validation error as a message at the file:line of its key (`root`: the model of the whole file)."""
    lines = key_lines(text)
    out: list[Located] = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        line = None
        for cut in range(len(loc), 0, -1):
            if loc[:cut] in lines:
                line = lines[loc[:cut]]
                break
        key = dotted(loc)
        message = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            valid = _valid_keys(root, loc[:-1])
            close = difflib.get_close_matches(str(loc[-1]), valid, n=1)
            message = "unknown key; remove it" + (f" (did you mean {close[0]!r}?)" if close else
                                                  f" (valid keys here: {', '.join(valid)})")
        elif err["type"] == "missing":
            message = f"required key is missing; add `{loc[-1]} = ...`"
            where = loc[:-1]
            line = lines.get(where, line) if where else line
        elif err["type"] == "literal_error":
            message = f"{message}, got {err.get('input')!r}"
        out.append(Located(message, path=path, line=line, key=key or None))
    return out


def dotted(loc: tuple[Any, ...]) -> str:
    """A key path as written in TOML: ('collaborative', 0, 'until') -> collaborative[0].until."""
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts[-1:] = [f"{parts[-1]}[{item}]"] if parts else [f"[{item}]"]
        elif item in ("function-after", "function-before") or str(item).startswith(("list[", "literal[")):
            continue
        else:
            parts.append("from" if item == "from_" else str(item))
    return ".".join(parts)


def _valid_keys(root: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    model: Any = root
    for item in loc:
        if isinstance(item, int):
            continue
        field = getattr(model, "model_fields", {}).get(item)
        if field is None:
            return []
        model = _model_in(field.annotation)
    fields = getattr(model, "model_fields", {})
    return sorted((f.alias or name) for name, f in fields.items())


def _model_in(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) is not None:
        for arg in get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None
