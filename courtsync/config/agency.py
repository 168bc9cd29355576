"""The [agency] table of courtsync.toml: the letterhead on letters, the name in email subjects and digests."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from courtsync.config.fields import OneLine, PathText


class AgencyConfig(BaseModel):
    """name, unit, address lines, phone and an optional logo; unknown keys are errors, as everywhere."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: OneLine = Field(min_length=1)
    unit: str | None = None
    address: list[str] = []
    phone: str | None = None
    logo: PathText | None = None       # an image file, relative to courtsync.toml; read when a letter is made
