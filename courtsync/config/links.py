"""Links to the web service: a calendar's subscription link, keyed so that a court clerk needs no account, and
the check page's link that digests carry.

A calendar's key is an HMAC-SHA256 of its path with the secret in the variable [server] secret_env names: it
opens that one calendar and no other, says nothing of any other id, and every link changes when the secret does
(the way to revoke them all)."""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import Literal
from urllib.parse import quote, urlencode

from courtsync.config.schema import Config
from courtsync.errors import ConfigError

Kind = Literal["worker", "collaborative", "court"]
KINDS: tuple[Kind, ...] = ("worker", "collaborative", "court")
DEMO_BASE = "http://127.0.0.1:8080"   # `courtsync serve`'s own address when [server] base_url is not set
KEY_CHARS = 32                        # 128 bits of the HMAC, in hex


def calendar_path(kind: Kind, ident: str) -> str:
    return f"/calendars/{kind}/{quote(ident, safe='')}.ics"


def _secret(config: Config) -> bytes:
    name = config.server.secret_env
    value = os.environ.get(name) if name else None
    if not value or len(value) < 16:
        where = f"${name}" if name else "the variable [server] secret_env names"
        raise ConfigError(f"Calendar links need a secret: {where} is not set, or shorter than 16 characters.",
                          hint="Set secret_env = \"COURTSYNC_SECRET\" in [server] of courtsync.toml and put a long "
                               "random value in that variable (for example: openssl rand -hex 32) wherever "
                               "`courtsync serve` and `courtsync links` run.")
    return value.encode()


def calendar_key(config: Config, kind: Kind, ident: str) -> str:
    """The key of one calendar's link (ConfigError without a secret)."""
    digest = hmac.new(_secret(config), calendar_path(kind, ident).encode(), hashlib.sha256).hexdigest()
    return digest[:KEY_CHARS]


def key_opens(config: Config, kind: Kind, ident: str, key: str) -> bool:
    """Whether `key` is this calendar's (False, never an error, without a secret: then no link opens)."""
    try:
        expected = calendar_key(config, kind, ident)
    except ConfigError:
        return False
    return hmac.compare_digest(expected.encode(), key.encode("utf-8", "replace"))


def base_url(config: Config) -> str:
    return (config.server.base_url or DEMO_BASE).rstrip("/")


def calendar_link(config: Config, kind: Kind, ident: str) -> str:
    """What a liaison sends: the calendar's whole URL with its key."""
    return f"{base_url(config)}{calendar_path(kind, ident)}?{urlencode({'key': calendar_key(config, kind, ident)})}"


def check_link(config: Config, worker_id: str, day: str) -> str | None:
    """The check page for a worker and a date (None when [server] base_url is not set: no service to link)."""
    if not config.server.base_url:
        return None
    return f"{base_url(config)}/?{urlencode({'worker': worker_id, 'date': day})}"
