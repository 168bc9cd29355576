"""The mail tables of courtsync.toml: [exchange] (EWS), [graph] (Microsoft Graph) and [smtp]."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field, model_validator

from courtsync.config.fields import Duration, Email, EnvName, Horizon, OneLine, Strict


class ExchangeConfig(Strict):
    """On-premises Exchange over EWS. Mailboxes: every worker without a `calendar` column."""

    endpoint: str = Field(pattern=r"^https?://")
    username: str | None = None
    password_env: EnvName | None = None
    auth: Literal["ntlm", "basic", "oauth"] = "ntlm"
    access: Literal["impersonation", "delegate"] = "impersonation"
    mode: Literal["auto", "free-busy", "calendar-view"] = "auto"
    version: Literal["Exchange2013", "Exchange2016", "Exchange2019"] = "Exchange2016"
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret_env: EnvName | None = None
    horizon: Horizon = timedelta(days=180)
    max_wait: Duration = timedelta(minutes=5)
    send_as: Email | None = None   # send digests and notices from this mailbox when there is no [smtp]

    @model_validator(mode="after")
    def _credentials_named(self) -> ExchangeConfig:
        if self.auth == "oauth":
            missing = [k for k in ("tenant_id", "client_id", "client_secret_env") if getattr(self, k) is None]
            if missing:
                raise ValueError(f"auth = \"oauth\" needs {', '.join(missing)}")
        elif self.username is None or self.password_env is None:
            raise ValueError(f"auth = \"{self.auth}\" needs username and password_env (the name of the "
                             "environment variable holding the password)")
        return self


class GraphConfig(Strict):
    """Exchange Online over Microsoft Graph (app-only). Mailboxes: every worker without a `calendar` column."""

    tenant_id: str
    client_id: str
    client_secret_env: EnvName
    mode: Literal["auto", "free-busy", "calendar-view"] = "auto"
    horizon: Horizon = timedelta(days=180)
    max_wait: Duration = timedelta(minutes=5)


class SmtpConfig(Strict):
    host: str
    port: int = Field(default=587, ge=1, le=65535)
    starttls: bool = True
    username: str | None = None
    password_env: EnvName | None = None
    sender: OneLine


