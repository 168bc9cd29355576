"""`courtsync db upgrade`: create the store, or migrate one an earlier release wrote, and say what was done."""

from __future__ import annotations

import os

from courtsync import context
from courtsync.config.schema import load_config
from courtsync.store.base import Upgrade


def upgrade(config_path: str | os.PathLike[str] | None) -> Upgrade:
    """Open the configured store at this release's schema version (created when missing, migrated when older;
    ConfigError when newer) with its calendar cache ready, and close it again."""
    with context.open_store(load_config(config_path)) as store:
        return store.upgrade()


def describe(done: Upgrade) -> list[str]:
    """What `db upgrade` did, in a line or two."""
    if done.before is None:
        return [f"created the store {done.store} (schema version {done.after})",
                f"calendar cache: {done.cache} (filled by the next sync)"]
    if done.before == done.after:
        return [f"the store {done.store} is current (schema version {done.after}); nothing to do"]
    return [f"migrated the store {done.store}: schema version {done.before} -> {done.after}",
            f"calendar cache: {done.cache}"]
