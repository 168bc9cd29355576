"""The [server] table of courtsync.toml: how `courtsync serve` knows who is asking, and where it is reached."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field, field_validator, model_validator

from courtsync.config.fields import Duration, Email, EnvName, Strict


class ServerConfig(Strict):
    """`auth = "header"`: the agency's sign-on proxy sets `user_header` to the email of a roster row (or a
    liaison, or one of `admins`), trusted only from `trusted_proxies`. `auth = "none"`: everyone is an admin,
    and the service only listens on loopback (a demo on one machine)."""

    base_url: str | None = Field(default=None, pattern=r"^https?://[^\s]+$")
    secret_env: EnvName | None = None
    auth: Literal["header", "none"] = "header"
    user_header: str = Field(default="X-Forwarded-Email", pattern=r"^[A-Za-z0-9-]+$")
    trusted_proxies: list[str] = ["127.0.0.1", "::1"]
    admins: list[Email] = []
    refresh: Duration = timedelta(minutes=15)   # "0s": no background refresh (a cron `courtsync sync` instead)

    @field_validator("trusted_proxies")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        import ipaddress  # (only when a [server] table names addresses: every command validates the config)

        for text in value:
            try:
                ipaddress.ip_network(text, strict=False)
            except ValueError:
                raise ValueError(f"{text!r} is not an IP address or network (such as \"127.0.0.1\" or "
                                 "\"10.0.0.0/8\")") from None
        return value

    @model_validator(mode="after")
    def _someone_trusted(self) -> ServerConfig:
        if self.auth == "header" and not self.trusted_proxies:
            raise ValueError("auth = \"header\" needs trusted_proxies: the addresses of the proxy that sets "
                             f"{self.user_header} (no one else may)")
        return self

    def trusts(self, address: str | None) -> bool:
        """Whether a request from this client address may set the user header."""
        import ipaddress

        if address is None:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in ipaddress.ip_network(n, strict=False) for n in self.trusted_proxies)
