"""The careful reader: icalendar + recurring-ical-events for series, overrides and anything unusual.

One UID group (a master and its overrides) is read at a time, so one broken event never hides
its neighbours. Library pitfalls are handled before or after the library runs (libraries.md):
zones are made unambiguous, bad UNTIL/COUNT fixed or reported, CANCELLED overrides dropped,
floating times placed in the agency's zone, DURATION kept exact, duplicate UIDs resolved.
"""

from __future__ import annotations

import hashlib
import re
import warnings
from datetime import date, datetime, time, timedelta
from typing import Any

import recurring_ical_events
from icalendar import Calendar

from courtsync.calendars import ics_series
from courtsync.calendars.ics_checks import DATE_PROPS, line_of, prevalidate
from courtsync.calendars.ics_events import UTC, Reader, resolve_tzid
from courtsync.calendars.ics_items import aware, exact_duration, exact_span, to_item
from courtsync.calendars.ics_text import Block, Line, params_of
from courtsync.models import BusyItem, Problem

_CRITICAL = {"DTSTART", "DTEND", "DURATION", "RRULE", "RECURRENCE-ID", "RDATE", "EXDATE"}
_TZID_PARAM = re.compile(r'(;TZID=)("[^"]*"|[^;:]*)', re.I)
_DATE_Z = re.compile(r"^\d{8}Z$")


def _drop_value_param(params: str) -> str:
    return re.sub(r";VALUE=[^;:]*", "", params, flags=re.I)


def _rewrite_tzids(block: Block, reader: Reader, renamed: dict[str, str], used: dict[str, str]) -> list[str]:
    """Known zones (IANA, Windows, vendor-prefixed) become their IANA name; custom VTIMEZONEs a unique id.

    icalendar caches a custom VTIMEZONE by its TZID for the whole process, so two feeds that both
    define 'Customized Time Zone' differently would otherwise share one definition.
    """
    out = []
    for line in block.lines:
        if line.name in DATE_PROPS and _DATE_Z.match(line.value.strip()):
            # A DATE written with a trailing Z (some exporters): an all-day date (calendar-quirks.md).
            out.append(f"{line.name};VALUE=DATE{_drop_value_param(line.params)}:{line.value.strip()[:8]}")
            continue
        if "TZID=" not in line.params.upper():
            out.append(line.raw)
            continue

        def swap(m: re.Match[str]) -> str:
            tzid = m.group(2).strip('"')
            if tzid in reader.doc.timezones and resolve_tzid(tzid)[0] is None:
                if ics_series.zone_unusable(reader.doc.timezones[tzid]):
                    return m.group(0)   # left unknown: the event is reported (_check_component)
                if tzid not in renamed:
                    digest = hashlib.sha256(reader.doc.timezones[tzid].encode()).hexdigest()[:12]
                    renamed[tzid] = f"courtsync-{digest}"
                    used[renamed[tzid]] = reader.doc.timezones[tzid]
                return f"{m.group(1)}{renamed[tzid]}"
            zone, _ = resolve_tzid(tzid)
            return f"{m.group(1)}{zone}" if zone is not None else m.group(0)

        params = _TZID_PARAM.sub(swap, line.params)
        out.append(f"{line.name}{params}:{line.value}")
    return out


def _calendar_text(blocks: list[Block], reader: Reader) -> str:
    renamed: dict[str, str] = {}
    used: dict[str, str] = {}
    events = ["\r\n".join(_rewrite_tzids(b, reader, renamed, used)) for b in blocks]
    zones = []
    for new_id, text in used.items():
        body = re.sub(r"(?im)^TZID[^:\r\n]*:.*(?:\r?\n)?", "", text)   # all of them: icalendar fails on two
        zones.append(re.sub(r"(?i)^BEGIN:VTIMEZONE", f"BEGIN:VTIMEZONE\r\nTZID:{new_id}", body, count=1))
    head = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//courtsync//reader//EN"]
    if reader.doc.x_wr_timezone:
        head.append(f"X-WR-TIMEZONE:{reader.doc.x_wr_timezone}")
    return "\r\n".join([*head, *zones, *events, "END:VCALENDAR", ""])


def _rules(comp: Any) -> list[Any]:
    value = comp.get("RRULE")
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _rule_problem(comp: Any, block: Block, reader: Reader, start: date | datetime) -> str | None:
    """COUNT<=0 or UNTIL before DTSTART mark a deleted series (not busy)."""
    rules = _rules(comp)
    if len(rules) > 1:
        return None  # several RRULEs (RFC 5545 says SHOULD NOT): expanded together, nothing to check here
    if not rules:
        return None
    rule = rules[0]
    count = rule.get("COUNT")
    if count and int(count[0]) <= 0:
        return f"RRULE COUNT={count[0]}: a series with no occurrences (some tools mark deletion this way); not busy"
    until = rule.get("UNTIL")
    if until:
        u = until[0]
        first = start.date() if isinstance(start, datetime) else start
        last = u.date() if isinstance(u, datetime) else u
        if last < first:
            return f"RRULE UNTIL {last} is before DTSTART {first}: a series with no occurrences; not busy"
    return None


def _fix_until(comp: Any, start: date | datetime, tz: Any) -> bool:
    """A DATE or local UNTIL means the end of that day / that wall time in DTSTART's zone."""
    changed = False
    for rule in _rules(comp):
        if not rule.get("UNTIL") or not isinstance(start, datetime):
            continue
        until = rule["UNTIL"][0]
        zone = start.tzinfo or tz
        if isinstance(until, datetime) and until.tzinfo is not None:
            continue
        if isinstance(until, datetime):
            fixed = until.replace(tzinfo=zone)
        else:
            fixed = datetime.combine(until, time(23, 59, 59), tzinfo=zone)
        rule["UNTIL"] = [fixed.astimezone(UTC)]
        changed = True
    return changed


def _pick_versions(items: list[tuple[Block, Any]], reader: Reader,
                   problems: list[Problem]) -> tuple[list[list[tuple[Block, Any]]], set[int]]:
    """Duplicate UIDs: the highest SEQUENCE, then the latest DTSTAMP; same SEQUENCE at other times -> keep both."""
    def rank(entry: tuple[Block, Any]) -> tuple[int, str]:
        comp = entry[1]
        stamp = comp.get("DTSTAMP")
        return int(comp.get("SEQUENCE", 0) or 0), stamp.to_ical().decode() if stamp is not None else ""

    masters = [e for e in items if e[1].get("RECURRENCE-ID") is None]
    overrides: dict[str, tuple[Block, Any]] = {}
    for e in items:
        rid = e[1].get("RECURRENCE-ID")
        if rid is not None:
            key = rid.to_ical().decode()
            if key not in overrides or rank(e) >= rank(overrides[key]):
                overrides[key] = e
    if len(masters) <= 1:
        return [masters + list(overrides.values())], set()
    top = max(rank(m)[0] for m in masters)
    best = [m for m in masters if rank(m)[0] == top]
    starts = {m[1].get("DTSTART").to_ical() for m in best}
    if len(starts) == 1:
        keep = max(best, key=rank)
        return [[keep, *overrides.values()]], set()
    problems.append(reader.problem(best[1][0].number,
                                   f"UID {best[0][0].uid!r} appears {len(best)} times with the same SEQUENCE "
                                   "at different times; all are kept (the library would keep one)"))
    groups = [[m] for m in best]
    groups[0].extend(overrides.values())
    return groups, {id(m[1]) for m in best}


def read_group(blocks: list[Block], reader: Reader) -> tuple[list[BusyItem], list[Problem]]:
    """All VEVENTs sharing one UID -> items and problems, each problem with its line."""
    problems: list[Problem] = []
    blocks = [b for b in blocks if prevalidate(b, reader, problems)]
    if not blocks:
        return [], problems
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            cal = Calendar.from_ical(_calendar_text(blocks, reader).encode("utf-8"))
        except ValueError as exc:
            for b in blocks:
                problems.append(reader.problem(b.number, f"cannot be read: {exc}"))
            return [], problems
        comps = list(cal.walk("VEVENT"))
        if len(comps) != len(blocks):
            for b in blocks:
                problems.append(reader.problem(b.number, "event could not be parsed; skipped"))
            return [], problems
        kept: list[tuple[Block, Any]] = []
        flags_of: dict[int, list[str]] = {}
        shifted = any("THISANDFUTURE" in line.params.upper() for b in blocks for line in b.lines)
        for block, comp in zip(blocks, comps, strict=True):
            ok, flags = _check_component(block, comp, reader, problems, shifted)
            if ok:
                kept.append((block, comp))
                flags_of[id(comp)] = flags
        items: list[BusyItem] = []
        groups, duplicated = _pick_versions(kept, reader, problems)
        for group in groups:
            for comp_id in duplicated:
                flags_of.setdefault(comp_id, []).append("duplicate-uid")
            items.extend(_expand(group, reader, problems, flags_of))
    return items, problems


def _check_component(block: Block, comp: Any, reader: Reader, problems: list[Problem],
                     shifted: bool) -> tuple[bool, list[str]]:
    """One parsed VEVENT checked and mended before expansion: (keep it, its flags); each problem at its line."""
    flags: list[str] = []
    if not _values_read(block, comp, reader, problems):
        return False, flags
    _mend_rules(block, comp, reader, problems)
    start = comp.get("DTSTART").dt
    start_line = next(line for line in block.lines if line.name == "DTSTART")
    if not _start_zone_known(start, start_line, reader, problems):
        return False, flags
    if "TZID" in params_of(start_line.params) and resolve_tzid(params_of(start_line.params)["TZID"])[1]:
        flags.append("tzid-guessed")
    if _DATE_Z.match(start_line.value.strip()):
        flags.append("date-with-z")
    reason = _rule_problem(comp, block, reader, start)
    if reason:
        problems.append(reader.problem(line_of(block, "RRULE"), reason))
        return False, flags
    # recurring-ical-events shifts UNTIL along with a THISANDFUTURE override; a rewritten UNTIL would then
    # let one occurrence past the end, so such series keep the library's own reading of UNTIL.
    if not shifted and _fix_until(comp, start, reader.tz):
        flags.append("until-adjusted")
    if ics_series.extra_dtstart(_rules(comp), comp, start):
        flags.append("extra-dtstart")
    if comp.get("DTEND") is not None:
        flags += _mend_end(block, comp, reader, problems, start)
    return True, flags


def _values_read(block: Block, comp: Any, reader: Reader, problems: list[Problem]) -> bool:
    """The values icalendar could not read: a property that places the event skips it (False), any other is
    dropped and reported."""
    bad = [(p, m) for p, m in comp.errors]
    for prop, message in bad:
        line = line_of(block, prop) if prop else block.number
        if prop in _CRITICAL:
            problems.append(reader.problem(line, f"{prop} cannot be read ({message}); event skipped"))
        else:
            problems.append(reader.problem(line, f"{prop or 'a line'} cannot be read ({message}); property ignored"))
            if prop:
                comp.pop(prop, None)
    if any(p in _CRITICAL for p, _ in bad):
        return False
    for name in ("DTSTART", "DTEND", "RECURRENCE-ID"):   # icalendar may keep a value it could not read as text
        if (name == "DTSTART" or name in comp) and not isinstance(getattr(comp.get(name), "dt", None), date):
            problems.append(reader.problem(line_of(block, name), f"{name} cannot be read; event skipped"))
            return False
    return True


def _mend_rules(block: Block, comp: Any, reader: Reader, problems: list[Problem]) -> None:
    """INTERVAL=0 read as 1; a rule that can never be expanded dropped (the event read once, at DTSTART)."""
    for rule in _rules(comp):
        note = ics_series.fix_interval(rule)
        if note:
            problems.append(reader.problem(line_of(block, "RRULE"), note))
    unusable = next((r for r in map(ics_series.unusable, _rules(comp)) if r), None)
    if unusable:
        # The event is still there: read it once, at DTSTART, rather than lose it or guess a rule.
        problems.append(reader.problem(line_of(block, "RRULE"), f"RRULE cannot be expanded ({unusable}); read "
                                                                 "as one event at DTSTART"))
        comp.pop("RRULE")


def _start_zone_known(start: date | datetime, start_line: Line, reader: Reader, problems: list[Problem]) -> bool:
    """False (reported) when DTSTART names a zone courtsync cannot place: it never guesses one."""
    if not (isinstance(start, datetime) and start.tzinfo is None and "TZID" in params_of(start_line.params)):
        return True
    tzid = params_of(start_line.params)["TZID"]
    unusable = ics_series.zone_unusable(reader.doc.timezones[tzid]) if tzid in reader.doc.timezones else None
    if unusable:
        problems.append(reader.problem(start_line.number, f"the VTIMEZONE of {tzid!r} cannot be used ({unusable});"
                                                          " event skipped (courtsync never guesses a zone)"))
        return False
    problems.append(reader.problem(start_line.number, f"unknown time zone {tzid!r} and no VTIMEZONE for it; "
                                                      "event skipped (courtsync never guesses a zone)"))
    return False


def _mend_end(block: Block, comp: Any, reader: Reader, problems: list[Problem], start: date | datetime) -> list[str]:
    """A DTEND of the other kind than DTSTART read as the same kind; one before DTSTART kept, and said so."""
    flags: list[str] = []
    end = comp.get("DTEND").dt
    if isinstance(end, datetime) != isinstance(start, datetime):
        # Read it rather than lose a possible conflict: the end becomes the same kind as the start.
        if isinstance(start, datetime):
            end = datetime.combine(end, time(), tzinfo=start.tzinfo or reader.tz)
        else:
            end = end.date() if end.time() == time() else end.date() + timedelta(days=1)
        comp.pop("DTEND")
        comp.add("DTEND", end)
        problems.append(reader.problem(line_of(block, "DTEND"),
                                       f"DTEND and DTSTART are of different kinds (date and date-time); read the "
                                       f"end as {end.isoformat()}"))
    if aware(end, reader) < aware(start, reader):
        # Never dropped (it is still a hearing) and never an interval that ends before it starts.
        problems.append(reader.problem(line_of(block, "DTEND"),
                                       f"DTEND {end} is before DTSTART {start}; counted busy from the end to the "
                                       "start"))
        flags.append("end-before-start")
        # recurring-ical-events anchors such a series at the earlier of the two: say so, so that the
        # bounds on expanding it (ics_series) walk the rule from where the library will.
        comp["DTSTART"], comp["DTEND"] = comp["DTEND"], comp["DTSTART"]
    return flags


def _expand(group: list[tuple[Block, Any]], reader: Reader, problems: list[Problem],
            flags_of: dict[int, list[str]]) -> list[BusyItem]:
    if not group:
        return []
    master = next(((b, c) for b, c in group if c.get("RECURRENCE-ID") is None), None)
    recurring = any(c.get("RRULE") or c.get("RDATE") for _, c in group)
    cal = Calendar()
    if reader.doc.x_wr_timezone:
        cal.add("X-WR-TIMEZONE", reader.doc.x_wr_timezone)
    for _, comp in group:
        cal.add_component(comp)
    base_block, base_comp = master or group[0]
    base_flags = flags_of.get(id(base_comp), [])
    exact = exact_duration(base_block) or exact_span(base_comp, reader)
    first_start = base_comp.get("DTSTART").dt
    if not recurring:
        occurrences = [c for _, c in group]
    else:
        ws, we = reader.window
        try:
            stop, bounds = we, None
            rules = _rules(base_comp)
            if master is not None and rules:
                span = exact if isinstance(exact, timedelta) else timedelta(days=1)
                bounds = ics_series.plan(base_comp, rules, (ws, we), span, "extra-dtstart" not in base_flags)
                stop = bounds.stop
                if bounds.capped:
                    problems.append(reader.problem(line_of(base_block, "RRULE"), f"series capped: {bounds.capped}"))
                    base_flags = [*base_flags, "series-capped"]
            if bounds is not None and bounds.empty:   # the rule reaches no further: only moved instances are left
                occurrences = [c for _, c in group if c.get("RECURRENCE-ID") is not None]
            else:
                query = recurring_ical_events.of(cal, skip_bad_series=False, components=["VEVENT"])
                occurrences = list(query.between(ws, stop))
        except Exception as exc:  # the library's own errors vary by version: report, never crash the feed
            problems.append(reader.problem(base_block.number, f"series cannot be expanded ({type(exc).__name__}: "
                                                              f"{exc}); skipped"))
            return []
    override_ids = {c.get("RECURRENCE-ID").to_ical() for _, c in group if c.get("RECURRENCE-ID") is not None}
    items = []
    for occ in occurrences:
        rid = occ.get("RECURRENCE-ID")
        is_override = rid is not None and rid.to_ical() in override_ids
        block = base_block
        if is_override:
            block = next((b for b, c in group if c.get("RECURRENCE-ID") is not None
                          and c.get("RECURRENCE-ID").to_ical() == rid.to_ical()), base_block)
        flags = base_flags if not is_override else flags_of.get(id(occ), [])
        occ_start = occ.get("DTSTART").dt
        if not is_override and recurring and occ_start != first_start and ics_series.nonexistent(occ_start):
            continue   # a generated local time the clock skips: ignored (RFC 5545 3.3.10; calendar-quirks.md)
        if "extra-dtstart" in flags and occ_start != first_start:
            flags = [f for f in flags if f != "extra-dtstart"]  # only the DTSTART occurrence is extra
        item = to_item(occ, block, reader, recurring, None if is_override else exact, flags)
        if item is not None:
            items.append(item)
    return items
