"""`courtsync init`: write a working example whose dates start just after the day it is written."""

from __future__ import annotations

import calendar
import importlib.resources
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

import jinja2

from courtsync.config.schema import load_config
from courtsync.core import schedule
from courtsync.errors import UsageError
from courtsync.models import Session
from courtsync.private_files import make_folder, write_file

FILES = ("courtsync.toml", "workers.csv", "caseload.csv", "registrations.csv", "feeds/cook-cpd.ics",
         "feeds/will-juvenile.ics", "tour.env", "signins/cook-north.csv", "signins/cook-south.csv")
TOUR_WORKER = "w01"   # in cook-regional and cook-north (templates/example/workers.csv), with hearings at cook-cpd


def nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The n-th (1..4, or -1 for last) given weekday of a month."""
    days = [d for d in calendar.Calendar().itermonthdates(year, month)
            if d.month == month and d.weekday() == weekday]
    return days[n - 1] if n > 0 else days[-1]


def _month(base: date, ahead: int) -> tuple[int, int]:
    index = base.year * 12 + base.month - 1 + ahead
    return index // 12, index % 12 + 1


def _env() -> jinja2.Environment:
    root = importlib.resources.files("courtsync.templates") / "example"
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(root)), undefined=jinja2.StrictUndefined,
                             autoescape=False, keep_trailing_newline=True)
    env.filters["ical"] = _ical_text
    return env


def _ical_text(value: str) -> str:
    """A TEXT value as RFC 5545 writes it: backslash, semicolon, comma and newline escaped."""
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _toml_context(as_of: date) -> dict[str, str]:
    tue, wed, thu, mon = 1, 2, 3, 0
    y, m = _month(as_of, 1)
    regional = nth_weekday(y, m, tue, 2)
    north = nth_weekday(y, m, wed, 3)
    south = nth_weekday(y, m, thu, 3)
    uy, um = _month(as_of, 18)
    north_until = date(uy, um, calendar.monthrange(uy, um)[1])
    north_dates = [nth_weekday(*_month(as_of, 1 + 2 * i), wed, 3) for i in range(4)]
    moved_from = north_dates[3]
    # Casimir Pulaski Day (first Monday of March) is an Illinois court holiday: the affinity
    # group meets on it anyway, so every output shows the holiday flag.
    march_year = as_of.year + (1 if as_of.month >= 3 else 0)
    pulaski = nth_weekday(march_year, 3, mon, 1)
    kinship = sorted({nth_weekday(*_month(as_of, k), 4, 2) for k in (1, 3, 5)} | {pulaski})
    return {
        "as_of": as_of.isoformat(),
        "regional_first": regional.isoformat(), "regional_ordinal": "2nd Tuesday",
        "north_first": north.isoformat(), "north_ordinal": "3rd Wednesday",
        "north_until": north_until.isoformat(),
        "north_cancelled": north_dates[2].isoformat(),
        "north_added": nth_weekday(*_month(as_of, 4), wed, 1).isoformat(),
        "north_moved_from": moved_from.isoformat(),
        "north_moved_to": (moved_from + timedelta(days=7)).isoformat(),
        "south_first": south.isoformat(), "south_ordinal": "3rd Thursday",
        "will_first": nth_weekday(y, m, thu, 2).isoformat(), "will_ordinal": "2nd Thursday",
        "kinship_dates": ", ".join(d.isoformat() for d in kinship),
        "kinship_holiday_note": f"{pulaski} is Casimir Pulaski Day, a court holiday: flagged, not moved",
    }


@dataclass
class Hearing:
    uid: str
    start: str
    end: str
    summary: str
    location: str
    status: str = "CONFIRMED"
    transp: str = "OPAQUE"
    all_day: bool = False
    rrule: str | None = None
    description: str | None = None
    attendees: list[dict[str, str]] = field(default_factory=list)


def _stamp(d: date, clock: time) -> str:
    return datetime.combine(d, clock).strftime("%Y%m%dT%H%M%S")


def _business_days(start: date, busy: set[date], holidays: schedule.CourtHolidays, n: int) -> list[date]:
    out: list[date] = []
    d = start
    while len(out) < n:
        d += timedelta(days=1)
        if holidays.is_business_day(d) and d not in busy:
            out.append(d)
    return out


def _hearings(sessions: dict[str, list[Session]], holidays: schedule.CourtHolidays,
              as_of: date) -> tuple[list[Hearing], list[Hearing]]:
    """Court hearings that exercise every rule: overlaps, buffers, cancellations, recurrence."""
    active = {cid: [s for s in ss if s.active] for cid, ss in sessions.items()}
    north, south, regional = active["cook-north"], active["cook-south"], active["cook-regional"]
    kinship = [s for s in active["kinship-affinity"] if not s.holiday]
    busy = {s.day for ss in active.values() for s in ss}
    free = _business_days(as_of + timedelta(days=7), busy, holidays, 12)
    room = "2245 W. Ogden Ave., Courtroom {}"
    def h(uid: str, d: date, a: time, b: time, case: str, what: str, court_room: str, **kw: object) -> Hearing:
        return Hearing(uid=uid, start=_stamp(d, a), end=_stamp(d, b), summary=f"{case} {what}",
                       location=court_room, **kw)  # type: ignore[arg-type]

    cook = [
        h("cpd-1001", north[0].day, time(10), time(11), "2026-JA-001187", "Permanency Hearing", room.format(3)),
        h("cpd-1002", north[0].day, time(17), time(17, 30), "2025-JA-004410", "Status Hearing",
          room.format(5)),
        h("cpd-1003", north[1].day, time(9, 30), time(10, 30), "2026-JA-000391", "Adjudicatory Hearing",
          room.format(3), status="CANCELLED"),
        h("cpd-1004", south[0].day, time(13, 30), time(14, 30), "2026-JA-002014", "Dispositional Hearing",
          room.format(1), transp="TRANSPARENT"),
        h("cpd-1005", regional[0].day, time(11), time(11, 45), "Staffing:", "agency attorney conference",
          room.format(2), attendees=[{"name": "Marcus Bell", "email": "marcus.bell@agency.example"}]),
        h("cpd-1006", free[0], time(9, 30), time(10, 30), "2026-JA-001203", "Permanency Hearing", room.format(3)),
        h("cpd-1007", free[1], time(13, 30), time(14), "2026-JA-000812", "Status Hearing", room.format(4)),
        h("cpd-1008", free[2], time(10), time(12), "2025-JA-004777", "Adjudicatory Hearing", room.format(1)),
        h("cpd-1009", free[3], time(9), time(9, 45), "2026-JA-001630", "Temporary Custody Hearing",
          room.format(6)),
        h("cpd-1010", regional[0].day - timedelta(days=7), time(14), time(14, 30),
          "2026-JA-001455", "Status Call", room.format(5), rrule="FREQ=WEEKLY;BYDAY=TU;COUNT=8"),
        h("cpd-1011", north[1].day, time(15, 30), time(16, 30), "2026-JD-002256", "Detention Review",
          room.format(2)),
    ]
    closed = free[5]
    cook.append(Hearing(uid="cpd-1012", start=closed.strftime("%Y%m%d"),
                        end=(closed + timedelta(days=1)).strftime("%Y%m%d"), all_day=True,
                        summary="Courtroom 4 closed: judicial training", location=room.format(4)))
    jol = "100 W. Jefferson St., Joliet, Courtroom 405"
    will = [
        h("will-2001", south[1].day, time(10), time(11), "26JA0412", "Permanency Review", jol),
        h("will-2002", kinship[0].day if kinship else free[6], time(13, 30), time(14), "26JA0433",
          "Status Hearing", jol),
        h("will-2003", free[7], time(9), time(10), "25JA1187", "Adjudication", jol),
        h("will-2004", free[8], time(11), time(11, 30), "26JA0158", "Status Hearing", jol),
        h("will-2005", south[0].day, time(16, 30), time(17), "26JA0519", "Case Management Conference", jol),
    ]
    return cook, will


@dataclass(frozen=True)
class Tour:
    """The dates the README's tours use, as they fall in an example written on `as_of`."""

    as_of: date
    session: date      # TOUR_WORKER's first protected session (cook-north, 09:00-16:00)
    free_day: date     # a business day with no session and no hearing: TOUR_WORKER is free
    south: date        # cook-south's first session (w03 makes SESSION up there)
    after: date        # a day after both: the attendance tour runs as of it
    makeup: date       # a will-joliet session after AFTER, near a cook-north one: w05 books a make-up there

    def variables(self) -> list[tuple[str, str, str]]:
        """(name, value, what it is) for tour.env and for what `init` prints."""
        return [("SESSION", self.session.isoformat(),
                 f"{TOUR_WORKER}'s first protected session (Cook North Training Center, 09:00-16:00)"),
                ("FREE_DAY", self.free_day.isoformat(), f"a business day on which {TOUR_WORKER} is free"),
                ("WEEK", "{}-W{:02d}".format(*self.session.isocalendar()[:2]), "the ISO week of SESSION"),
                ("MADE", self.as_of.isoformat(), "the day this example was written"),
                ("AFTER", self.after.isoformat(), "a day after SESSION and its sign-in sheets (signins/)"),
                ("MAKEUP", self.makeup.isoformat(), "a Will County Training Center session w05 can book")]

    def next_steps(self, target: Path, as_of: date | None) -> str:
        """What `init` prints: the dates, and the first tour commands with them filled in (with `--as-of`
        when the example was written for another day than today)."""
        dates = "\n".join(f"  {name}={value}  {what}" for name, value, what in self.variables())
        extra = f" --as-of {as_of}" if as_of else ""
        return (f"\nThis example's dates (also in tour.env: `. ./tour.env` sets them for the README's tours):\n"
                f"{dates}\n\nNext:\n  cd {target}\n  courtsync dates --worker {TOUR_WORKER}{extra}\n"
                f"  courtsync check --worker {TOUR_WORKER} --date {self.session}{extra}  # exit 1: a session\n"
                f"  courtsync check --worker {TOUR_WORKER} --date {self.free_day}{extra}    # exit 0: free\n"
                f"  courtsync scan{extra}    # exit 1: the example's conflicts")

    def env_text(self) -> str:
        lines = [f"# The dates of this example, written by `courtsync init` on {self.as_of}.",
                 "# Load them with `. ./tour.env` to type the README's tours as they are written.",
                 *(f"{name}={value}    # {what}" for name, value, what in self.variables())]
        return "\n".join(lines) + "\n"


def _tour(as_of: date, sessions: dict[str, list[Session]], holidays: schedule.CourtHolidays,
          hearings: list[Hearing]) -> Tour:
    session = next(s.day for s in sessions["cook-north"] if s.active)
    taken = {s.day for ss in sessions.values() for s in ss} | {date.fromisoformat(
        f"{h.start[:4]}-{h.start[4:6]}-{h.start[6:8]}") for h in hearings}
    # The Tuesday before the session is never a session; step back (then on) past a holiday or a hearing.
    near = [session + timedelta(days=k) for k in (*range(-1, -22, -1), *range(1, 60))]
    free_day = next(d for d in near if d > as_of and d not in taken and holidays.is_business_day(d))
    south = next(s.day for s in sessions["cook-south"] if s.active)
    after = max(session, south) + timedelta(days=7)
    north = [s.day for s in sessions["cook-north"] if s.active]
    makeup = next(s.day for s in sessions["will-joliet"] if s.active and s.day > after
                  and any(abs((s.day - n).days) <= 60 for n in north))
    return Tour(as_of, session, free_day, south, after, makeup)


NORTH_PRESENT = ("s01", "s02", "w02", "w04", "w07", "w08", "w09", "w10", "w11", "w12")   # w01, w03, w05 missed
SOUTH_PRESENT = ("s03", "s04", "w14", "w15", "w16", "w17", "w18", "w19", "w20", "w21", "w22", "w23", "w24")


def _signins(tour: Tour) -> dict[str, str]:
    """The sign-in sheets of the first cook-north and cook-south sessions: w01 was in court (excused), w05 is
    absent, w03 made SESSION up at cook-south the next day, w06 left after four hours."""
    head = "date,collaborative_id,worker_id,hours\n"
    north = "".join(f"{tour.session},cook-north,{w},\n" for w in NORTH_PRESENT) + f"{tour.session},cook-north,w06,4\n"
    south = "".join(f"{tour.south},cook-south,{w},\n" for w in SOUTH_PRESENT) + f"{tour.south},cook-south,w03,6.5\n"
    return {"cook-north.csv": head + north, "cook-south.csv": head + south}


def write_example(target: Path, as_of: date, force: bool = False) -> tuple[list[Path], Tour]:
    """Write the example into `target` (owner-only: its roster is where an agency's real staff list starts);
    refuse to overwrite an existing one unless `force`."""
    existing = [target / f for f in FILES if (target / f).exists()]
    if existing and not force:
        raise UsageError(f"{existing[0]} already exists.",
                         hint="Choose an empty folder, or pass --force to overwrite the example files.")
    env = _env()
    make_folder(target / "feeds")
    written = []
    toml = env.get_template("courtsync.toml.j2").render(**_toml_context(as_of))
    write_file(target / "courtsync.toml", toml.encode("utf-8"))
    written.append(target / "courtsync.toml")
    for name in ("workers.csv", "caseload.csv", "registrations.csv"):
        write_file(target / name, env.get_template(name).render().encode("utf-8"))
        written.append(target / name)
    config = load_config(target / "courtsync.toml")
    holidays = schedule.CourtHolidays(config.holidays)
    sessions = {c.id: schedule.sessions(c, config.tz, holidays) for c in config.collaboratives().values()}
    cook, will = _hearings(sessions, holidays, as_of)
    stamp = datetime.combine(as_of, time(6)).strftime("%Y%m%dT%H%M%SZ")
    feed = env.get_template("feed.ics.j2")
    for name, cal_name, tzid, vtz, hearings in (
            ("cook-cpd.ics", "Cook County CPD hearings", "America/Chicago", True, cook),
            ("will-juvenile.ics", "Will County Juvenile hearings", "Central Standard Time", False, will)):
        text = feed.render(calendar_name=cal_name, tzid=tzid, vtimezone=vtz, hearings=hearings, stamp=stamp)
        path = target / "feeds" / name
        write_file(path, text.replace("\n", "\r\n").encode("utf-8"))
        written.append(path)
    tour = _tour(as_of, sessions, holidays, cook + will)
    write_file(target / "tour.env", tour.env_text().encode("utf-8"))
    written.append(target / "tour.env")
    make_folder(target / "signins")
    for name, text in _signins(tour).items():
        write_file(target / "signins" / name, text.encode("utf-8"))
        written.append(target / "signins" / name)
    return written, tour


def init_example(target: Path, as_of: date, force: bool = False,
                 as_of_given: bool = False) -> str:
    """What was written, and what to type next with the example's own dates filled in."""
    written, tour = write_example(target, as_of, force=force)
    return "\n".join(f"wrote {path}" for path in written) + "\n" + tour.next_steps(target, as_of if as_of_given
                                                                                   else None)
