"""The lazy registry of source types: a type name -> its class, imported on first use (so exchangelib and msal
load only when a mail system is configured), and which type a feed string is."""

from __future__ import annotations

import importlib
import re
from typing import TYPE_CHECKING, Any, Literal, overload

from courtsync.calendars.base import Source
from courtsync.errors import ConfigError

if TYPE_CHECKING:
    from courtsync.calendars.ews import EwsSource
    from courtsync.calendars.files import FileSource
    from courtsync.calendars.graph import GraphSource
    from courtsync.calendars.http import HttpSource
    from courtsync.calendars.memory import MemorySource

# type name -> "module:Class", imported on first use so that heavy libraries load only when needed.
_REGISTRY = {
    "file": "courtsync.calendars.files:FileSource",
    "http": "courtsync.calendars.http:HttpSource",
    "memory": "courtsync.calendars.memory:MemorySource",
    "ews": "courtsync.calendars.ews:EwsSource",
    "graph": "courtsync.calendars.graph:GraphSource",
}
SourceType = Literal["file", "http", "memory", "ews", "graph"]


@overload
def source_class(type_name: Literal["file"]) -> type[FileSource]: ...
@overload
def source_class(type_name: Literal["http"]) -> type[HttpSource]: ...
@overload
def source_class(type_name: Literal["memory"]) -> type[MemorySource]: ...
@overload
def source_class(type_name: Literal["ews"]) -> type[EwsSource]: ...
@overload
def source_class(type_name: Literal["graph"]) -> type[GraphSource]: ...
@overload
def source_class(type_name: str) -> type[Source]: ...


def source_class(type_name: str) -> type[Any]:
    """The class of a source type, its module imported now."""
    if type_name not in _REGISTRY:
        raise ConfigError(f"Unknown calendar source type {type_name!r}; known: {', '.join(sorted(_REGISTRY))}.")
    module, _, name = _REGISTRY[type_name].partition(":")
    cls: type[Any] = getattr(importlib.import_module(module), name)
    return cls


def source_type(location: str) -> Literal["http", "file"]:
    """A feed string from the config: a URL is 'http', anything else a file."""
    return "http" if re.match(r"^(https?|webcal)://", location.strip(), re.I) else "file"
