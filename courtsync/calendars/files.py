"""A local .ics file as a calendar source (light to construct: the reader loads only when it reads)."""

from __future__ import annotations

from pathlib import Path

from courtsync.calendars.base import Fetched, Group, RawGroup, Window
from courtsync.errors import SourceError
from courtsync.models import SourceKind

MAX_BYTES = 64 * 1024 * 1024


class FileSource:
    """A local .ics file (a court's export, or a person's calendar)."""

    local = True   # read before network sources: no server can keep it waiting (sync.readers)

    def __init__(self, id: str, kind: SourceKind, location: str, base_dir: Path, owner: str | None = None,
                 case_pattern: str | None = None) -> None:
        self.id = id
        self.kind = kind
        self.owner = owner
        self.path = (base_dir / Path(location).expanduser()).resolve()
        self.label = str(self.path)
        self.case_pattern = case_pattern

    def unchanged(self, validators: dict[str, str]) -> bool:
        """True when the file is as it was at the read that left `validators` (a stat, nothing read)."""
        try:
            stat = self.path.stat()
        except OSError:
            return False
        return validators.get("file") == f"{stat.st_size}:{stat.st_mtime_ns}"

    def fetch(self, window: Window, validators: dict[str, str]) -> Fetched:
        try:
            stat = self.path.stat()
            if stat.st_size > MAX_BYTES:
                raise SourceError(f"{self.path} is {stat.st_size // 1_000_000} MB, over the "
                                  f"{MAX_BYTES // 1_000_000} MB limit for a calendar file.")
            signature = f"{stat.st_size}:{stat.st_mtime_ns}"
            if validators.get("file") == signature:
                return Fetched(validators=validators, not_modified=True)
            data = self.path.read_bytes()
        except FileNotFoundError:
            raise SourceError(f"{self.path} does not exist.", hint="Check the path in courtsync.toml (relative "
                                                                   "to the folder of courtsync.toml).") from None
        except OSError as exc:
            raise SourceError(f"Cannot read {self.path}: {exc.strerror}.") from None
        from courtsync.calendars.ics import Settings, fetch_ics

        fetched = fetch_ics(data, Settings(self.id, str(self.path), self.kind, window, self.case_pattern))
        fetched.validators = {"file": signature}
        return fetched

    def parse(self, fetched: Fetched, groups: list[RawGroup]) -> dict[str, Group]:
        from courtsync.calendars.ics import parse_ics

        return parse_ics(fetched, groups)
