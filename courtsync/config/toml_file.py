"""Read courtsync.toml into plain data: UTF-8, TOML syntax and the limits of the TOML reader, each failure a
ConfigError that says where and how to fix it (never a traceback)."""

from __future__ import annotations

import gc
import re
import tomllib
from pathlib import Path
from typing import Any

from courtsync.errors import ConfigError, Located

_LONG_NUMBER = re.compile(r"\d{4000,}")   # Python refuses to read integers of more than 4,300 digits


def read_toml(path: Path) -> tuple[dict[str, Any], str]:
    """The parsed file and its text (the text locates keys in later errors)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"Cannot read {path}: {exc.strerror}.") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not UTF-8 text (byte {exc.start}); save it as UTF-8.") from None
    gc.disable()   # a TOML nested thousands deep ends in RecursionError: no collector may run finalizers down there
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        line = int(m.group(1)) if m else None
        reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise ConfigError(f"{path} is not valid TOML:",
                          problems=[Located(reason, path=path, line=line)],
                          hint="Check quotes, brackets and `key = value` on that line.") from None
    except RecursionError:   # tomllib recurses once per level of [[[...]]]
        raise ConfigError(f"{path} is nested too deeply to be a courtsync configuration.",
                          hint="Look for a long run of [ or { brackets: no key nests deeper than 3.") from None
    except ValueError:   # a number too long for Python to convert
        long = _LONG_NUMBER.search(text)
        line = text.count("\n", 0, long.start()) + 1 if long else None
        raise ConfigError(f"{path} is not valid TOML:",
                          problems=[Located("a number with thousands of digits; no setting takes one",
                                            path=path, line=line)],
                          hint="Correct the number on that line.") from None
    finally:
        gc.enable()   # courtsync never runs with the collector off
