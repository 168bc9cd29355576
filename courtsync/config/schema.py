"""courtsync.toml: find it, read it, validate it (unknown keys are errors), say where it is wrong."""

from __future__ import annotations

import os
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BeforeValidator,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from courtsync.config.agency import AgencyConfig
from courtsync.config.fields import (
    DateValue,
    Deadline,
    Duration,
    Email,
    EnvName,
    Id,
    MakeupWindow,
    OneLine,
    PathText,
    Strict,
    TimeValue,
    parse_holidays,
    pattern_risk,
)
from courtsync.config.locate import dotted, explain, key_lines
from courtsync.config.mail import ExchangeConfig, GraphConfig, SmtpConfig
from courtsync.config.server import ServerConfig
from courtsync.config.toml_file import read_toml
from courtsync.errors import ConfigError, Located
from courtsync.models import Collaborative, Court, Move, Rule

CONFIG_ENV = "COURTSYNC_CONFIG"
STORE_ENV = "COURTSYNC_STORE"
CONFIG_NAME = "courtsync.toml"


class MoveConfig(Strict):
    from_: DateValue = Field(alias="from")
    to: DateValue


class CollaborativeConfig(Strict):
    id: Id
    name: str = Field(min_length=1)
    kind: Literal["regional", "training-center", "affinity-group"]
    region: str | None = None
    location: str | None = None
    first_session: DateValue | None = None
    every: int = Field(default=1, ge=1, le=24)
    until: DateValue | None = None
    count: int | None = Field(default=None, ge=1, le=1000)
    dates: list[DateValue] | None = None
    start: TimeValue
    end: TimeValue
    cancelled: list[DateValue] = []
    added: list[DateValue] = []
    moved: list[MoveConfig] = []
    buffer: Duration | None = None
    capacity: int | None = Field(default=None, ge=0, le=100_000)
    ceu_per_hour: float | None = Field(default=None, ge=0, le=10)   # CEUs earned per hour attended

    @model_validator(mode="after")
    def _schedule_is_complete(self) -> CollaborativeConfig:
        if self.end <= self.start:
            raise ValueError(f"end ({self.end}) must be after start ({self.start})")
        if self.dates is not None:
            if self.first_session is not None:
                raise ValueError("give either first_session (a rule) or dates (a list), not both")
            if self.until is not None or self.count is not None or "every" in self.model_fields_set:
                raise ValueError("every, until and count belong to a rule; remove them when using dates")
            return self
        if self.first_session is None:
            raise ValueError("add first_session = YYYY-MM-DD (with every and until or count), "
                             "or dates = [YYYY-MM-DD, ...]")
        if (self.until is None) == (self.count is None):
            raise ValueError("give exactly one of until = YYYY-MM-DD or count = N to end the rule")
        if self.until is not None and self.until < self.first_session:
            raise ValueError(f"until ({self.until}) is before first_session ({self.first_session})")
        return self

    def to_model(self) -> Collaborative:
        rule = None
        if self.first_session is not None:
            rule = Rule(first=self.first_session, every=self.every, until=self.until, count=self.count)
        return Collaborative(
            id=self.id, name=self.name, kind=self.kind, start=self.start, end=self.end,
            region=self.region, location=self.location, rule=rule, dates=tuple(self.dates or ()),
            cancelled=tuple(self.cancelled), added=tuple(self.added),
            moved=tuple(Move(m.from_, m.to) for m in self.moved), buffer=self.buffer, capacity=self.capacity,
            ceu_per_hour=self.ceu_per_hour)


class CourtConfig(Strict):
    id: Id
    name: OneLine = Field(min_length=1)
    address: list[str] = []
    addressee: str = "Presiding Judge"
    email: Email | None = None
    feeds: list[PathText] = []
    case_pattern: str | None = None
    buffer: Duration | None = None

    @field_validator("case_pattern")
    @classmethod
    def _pattern_compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except (re.error, RecursionError, OverflowError) as exc:
                raise ValueError(f"not a valid regular expression: {exc}; write it in single quotes, "
                                 "e.g. '\\d{4}-J[AD]-\\d{3,6}'") from exc
            risk = pattern_risk(value)
            if risk:
                raise ValueError(f"{risk}, which can take exponential time on some event text and stall every "
                                 "sync; write it without a repeat inside a repeat, e.g. '\\d{4}-J[AD]-\\d{3,6}'")
        return value

    def to_model(self) -> Court:
        return Court(id=self.id, name=self.name, address=tuple(self.address), addressee=self.addressee,
                     email=self.email, feeds=tuple(self.feeds), case_pattern=self.case_pattern,
                     buffer=self.buffer)


class RosterConfig(Strict):
    workers: PathText
    caseload: PathText | None = None
    registrations: PathText = "registrations.csv"   # for `courtsync enroll`; read only by it


class DigestConfig(Strict):
    weeks: int = Field(default=8, ge=1, le=52)            # how far ahead each weekly digest looks
    all_clear: Literal["send", "skip"] = "send"          # a short all-clear to supervisors with no conflicts


class NoticesConfig(Strict):
    case_numbers: bool = False    # list each worker's case numbers before the court in the letters
    lead_days: int = Field(default=30, ge=0, le=365)   # a letter should reach the court this long before its first date


class LiaisonConfig(Strict):
    id: Id
    name: OneLine
    title: str = "Court Liaison"
    email: Email
    phone: str | None = None
    courts: list[str] = []


class Config(Strict):
    """The whole of courtsync.toml, validated. `base_dir` resolves the relative paths in it."""

    timezone: str
    holidays: Annotated[str | list[date] | bool, BeforeValidator(parse_holidays)]
    buffer: Duration = timedelta(minutes=60)
    store: PathText = "courtsync.db"   # a SQLite file, or postgresql://user@host/db (store/postgres.py)
    store_password_env: EnvName | None = None   # the PostgreSQL password's variable (else libpq's $PGPASSWORD)
    max_age: Duration = timedelta(hours=1)
    deadline: Deadline = timedelta(seconds=10)   # whole re-read started by a command; then the last copy answers
    max_drop: float = Field(default=0.5, ge=0.0, le=1.0)   # share of upcoming items a read may lose unheld
    makeup_window: MakeupWindow = timedelta(days=60)   # a missed session is made up this near it (either side)
    roster: RosterConfig
    collaborative: list[CollaborativeConfig] = []
    court: list[CourtConfig] = []
    exchange: ExchangeConfig | None = None
    graph: GraphConfig | None = None
    smtp: SmtpConfig | None = None
    liaison: list[LiaisonConfig] = []
    digest: DigestConfig = DigestConfig()
    notices: NoticesConfig = NoticesConfig()
    agency: AgencyConfig | None = None
    server: ServerConfig = ServerConfig()
    _base_dir: Path = PrivateAttr(default=Path("."))
    _path: Path | None = PrivateAttr(default=None)
    _text: str = PrivateAttr(default="")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"{value!r} is not an IANA time zone name; use one such as "
                             "\"America/Chicago\"") from exc
        return value

    @model_validator(mode="after")
    def _one_mail_system(self) -> Config:
        if self.exchange is not None and self.graph is not None:
            raise ValueError("configure [exchange] (on-premises) or [graph] (Exchange Online), not both: every "
                             "worker without a calendar column is read from the one given")
        return self

    @property
    def base_dir(self) -> Path:
        return self._base_dir

    @property
    def path(self) -> Path | None:
        return self._path

    def locate(self, *loc: str | int) -> tuple[Path | None, int | None, str]:
        """File, line and dotted key of a setting, for errors found after validation."""
        lines = key_lines(self._text)  # only on the error path: a large config takes ~10 ms
        for cut in range(len(loc), 0, -1):
            if loc[:cut] in lines:
                return self._path, lines[loc[:cut]], dotted(loc)
        return self._path, None, dotted(loc)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def resolve(self, relative: str) -> Path:
        """A path from the config, relative to the TOML file's folder."""
        return (self.base_dir / Path(relative).expanduser()).resolve()

    @property
    def workers_path(self) -> Path:
        return self.resolve(self.roster.workers)

    @property
    def caseload_path(self) -> Path | None:
        return self.resolve(self.roster.caseload) if self.roster.caseload else None

    @property
    def registrations_path(self) -> Path:
        return self.resolve(self.roster.registrations)

    @property
    def store_location(self) -> str:
        """`store`, or $COURTSYNC_STORE when set (a container's or the test suite's database in its place)."""
        return os.environ.get(STORE_ENV) or self.store

    @property
    def store_url(self) -> str | None:
        """The PostgreSQL store's URL (None: the store is a SQLite file, `store_path`)."""
        location = self.store_location
        return location if location.startswith(("postgresql://", "postgres://")) else None

    @property
    def store_path(self) -> Path:
        return self.resolve(self.store_location)

    def collaboratives(self) -> dict[str, Collaborative]:
        return {c.id: c.to_model() for c in self.collaborative}

    def courts(self) -> dict[str, Court]:
        return {c.id: c.to_model() for c in self.court}

    @classmethod
    def from_mapping(cls, data: dict[str, Any], base_dir: Path, path: Path | None = None,
                     text: str | None = None) -> Config:
        """Validate parsed TOML. Pure: `text` is only used to find the line of a bad key."""
        try:
            config = cls.model_validate(data)
        except ValidationError as exc:
            raise ConfigError(
                f"{path or 'configuration'} is not valid ({exc.error_count()} "
                f"problem{'s' if exc.error_count() != 1 else ''}):",
                problems=explain(exc, path, text or "", cls),
                hint="Fix the keys named above; the README's configuration reference lists every key, and "
                     "`courtsync init DIR` writes a working example to compare with.") from None
        config._base_dir = base_dir
        config._path = path
        config._text = text or ""
        problems = [Located(message, *config.locate(*loc)) for loc, message in _cross_check(config)]
        if problems:
            raise ConfigError(f"{path or 'configuration'} is not consistent:", problems=problems,
                              hint="Every id must be unique, and every id named must exist.")
        return config


def _cross_check(config: Config) -> list[tuple[tuple[str | int, ...], str]]:
    """Ids unique within their kind; ids named elsewhere exist. (where, message) pairs."""
    out: list[tuple[tuple[str | int, ...], str]] = []
    tables: tuple[tuple[str, list[str]], ...] = (
        ("collaborative", [c.id for c in config.collaborative]), ("court", [c.id for c in config.court]),
        ("liaison", [x.id for x in config.liaison]))
    for table, ids in tables:
        seen: dict[str, int] = {}
        for index, item_id in enumerate(ids):
            if item_id in seen:
                out.append(((table, index, "id"), f"id {item_id!r} is already used by {table}[{seen[item_id]}]; "
                                                  "give each a unique id"))
            seen.setdefault(item_id, index)
    courts = {c.id for c in config.court}
    for index, li in enumerate(config.liaison):
        for cid in li.courts:
            if cid not in courts:
                out.append((("liaison", index, "courts"), f"court {cid!r} is not a [[court]] id (known: "
                                                          f"{', '.join(sorted(courts)) or 'none'})"))
    return out


def find_config_path(explicit: str | os.PathLike[str] | None) -> Path:
    """--config, else $COURTSYNC_CONFIG, else ./courtsync.toml."""
    if explicit:
        chosen, how = Path(explicit), "--config"
    elif os.environ.get(CONFIG_ENV):
        chosen, how = Path(os.environ[CONFIG_ENV]), f"${CONFIG_ENV}"
    else:
        chosen, how = Path(CONFIG_NAME), "the current folder"
    if not chosen.is_file():
        raise ConfigError(
            f"No configuration at {chosen} (from {how})" + (": a folder, not a file." if chosen.is_dir() else "."),
            hint="Pass --config PATH, set COURTSYNC_CONFIG, or run `courtsync init DIR` to write an "
                 "example and run commands from DIR.")
    return chosen


def load_config(explicit: str | os.PathLike[str] | None = None) -> Config:
    """Find courtsync.toml, read it and validate it."""
    path = find_config_path(explicit)
    data, text = read_toml(path)
    return Config.from_mapping(data, base_dir=path.resolve().parent, path=path, text=text)
