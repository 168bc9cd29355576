"""A re-sync that parses only the events whose tag changed must leave the store exactly as a first read of the
new file would.

Every fixture calendar is edited the ways feeds change (a new room, a new time, an event added, dropped,
moved, grown by a line, a changed header, a duplicate, an odd line ending) and, after each edit, a store
kept up to date by re-syncs is compared, item by item (line numbers included) and problem by problem,
with a fresh store that synced the new file once. How much each re-sync parsed is read from its report.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from courtsync.calendars.files import FileSource
from courtsync.store.sqlite import Store
from courtsync.sync.engine import change_of
from courtsync.sync.readers import Task, read_one
from tests.calendar_helpers import CALENDARS, CASE, WINDOW, store_state, synced
from tests.conftest import AS_OF, Run

FIXTURES = sorted(str(p.relative_to(CALENDARS)) for p in CALENDARS.rglob("*.ics")
                  if p.name not in ("empty.ics", "html_login.ics", "truncated.ics"))
_EVENT = re.compile(r"^BEGIN:VEVENT\r?\n.*?^END:VEVENT\r?\n", re.M | re.S | re.I)
RECURRENCE = CALENDARS / "court" / "recurrence.ics"
State = tuple[list[tuple[Any, ...]], list[tuple[str, str]]]


def fresh_state(tmp_path: Path, name: str, data: bytes, case_pattern: str | None = CASE) -> State:
    """What a first sync of `data` stores (read from the same path, so that locations agree)."""
    fresh = Store(tmp_path / "fresh.db")
    synced(fresh, tmp_path, name, data, case_pattern=case_pattern)
    state = store_state(fresh)
    fresh.close()
    for side in ("", "-wal", "-shm"):
        (tmp_path / f"fresh.db{side}").unlink(missing_ok=True)
    return state


# --- edits, each as a feed might make it -------------------------------------------------------------

def _events(text: str) -> list[re.Match[str]]:
    return list(_EVENT.finditer(text))


def _nl(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _edit_event(text: str, k: int, change: Callable[[str, str], str]) -> str:
    """The k-th event (counting round) replaced by change(its text, the file's line end)."""
    found = _events(text)
    if not found:
        return text
    m = found[k % len(found)]
    return text[:m.start()] + change(m.group(0), _nl(text)) + text[m.end():]


def new_summary(text: str, k: int) -> str:
    def change(block: str, nl: str) -> str:
        changed = re.sub(r"^SUMMARY([;:])", r"SUMMARY\1(moved to room 4) ", block, count=1, flags=re.M)
        added = block.replace("BEGIN:VEVENT" + nl, f"BEGIN:VEVENT{nl}SUMMARY:added{nl}", 1)
        return changed if changed != block else added
    return _edit_event(text, k, change)


def grow(text: str, k: int) -> str:
    return _edit_event(text, k, lambda block, nl: block.replace("BEGIN:VEVENT" + nl,
                                                                f"BEGIN:VEVENT{nl}X-NOTE:one{nl}X-NOTE:two{nl}", 1))


def drop(text: str, k: int) -> str:
    return _edit_event(text, k, lambda block, nl: "")


def add(text: str, k: int) -> str:
    day = f"2027021{k % 10}"
    return _edit_event(text, k, lambda block, nl: (
        f"BEGIN:VEVENT{nl}UID:added-{k}@test{nl}DTSTAMP:20270101T000000Z{nl}DTSTART;TZID=America/Chicago:{day}T090000"
        f"{nl}DTEND;TZID=America/Chicago:{day}T100000{nl}SUMMARY:2027-JA-00{k % 10}123 added hearing{nl}END:VEVENT{nl}"
        + block))


def move_to_end(text: str, k: int) -> str:
    found = _events(text)
    if len(found) < 2:
        return text
    block = found[k % len(found)].group(0)
    rest = drop(text, k)
    last = _events(rest)[-1]
    return rest[:last.end()] + block + rest[last.end():]


def later(text: str, k: int) -> str:
    return _edit_event(text, k, lambda block, nl: re.sub(r"(^DTSTART[^:\r\n]*:\d{8}T)(\d)", lambda m: m.group(1) + str(
        (int(m.group(2)) + 1) % 2), block, count=1, flags=re.M))


def duplicate(text: str, k: int) -> str:
    return _edit_event(text, k, lambda block, nl: block + block)


def new_header(text: str, k: int) -> str:
    nl = _nl(text)
    return re.sub(r"^(VERSION:[^\r\n]*\r?\n)", lambda m: m.group(1) + f"X-WR-CALDESC:edition {k}{nl}", text,
                  count=1, flags=re.M)


def lower_case(text: str, k: int) -> str:
    return _edit_event(text, k, lambda block, nl: "begin:vevent" + block[len("BEGIN:VEVENT"):])


def new_uid(text: str, k: int) -> str:
    return _edit_event(text, k, lambda block, nl: re.sub(r"^UID:([^\r\n]*)", r"UID:renamed-\1", block, count=1,
                                                         flags=re.M))


def todo_after(text: str, k: int) -> str:
    return _edit_event(text, k, lambda block, nl: block + (f"BEGIN:VTODO{nl}UID:todo-{k}{nl}SUMMARY:file the report"
                                                           f"{nl}END:VTODO{nl}"))


def restamp(text: str, k: int) -> str:
    """What Google and Outlook exports do: every DTSTAMP becomes the time of this export."""
    return re.sub(r"^DTSTAMP:[^\r\n]*", f"DTSTAMP:202703{k % 28 + 1:02d}T101500Z", text, flags=re.M)


def restamp_and_edit(text: str, k: int) -> str:
    return new_summary(restamp(text, k), k)


EDITS: list[Callable[[str, int], str]] = [new_summary, grow, drop, add, move_to_end, later, duplicate, new_header,
                                          lower_case, new_uid, todo_after, restamp_and_edit]


@pytest.mark.parametrize("name", FIXTURES)
def test_resyncs_leave_the_store_as_a_first_read_would(name: str, tmp_path: Path) -> None:
    rng = random.Random(name)
    text = (CALENDARS / name).read_bytes().decode("utf-8", errors="surrogateescape")
    kept = Store(tmp_path / "kept.db")
    synced(kept, tmp_path, name, text.encode("utf-8", errors="surrogateescape"))
    for step in range(16):
        edit = EDITS[step % len(EDITS)] if step < len(EDITS) else rng.choice(EDITS)
        text = edit(text, rng.randrange(50))
        data = text.encode("utf-8", errors="surrogateescape")
        synced(kept, tmp_path, name, data)
        assert store_state(kept) == fresh_state(tmp_path, name, data), f"after {edit.__name__} (step {step})"
    kept.close()


def test_a_one_event_edit_reparses_one_event(tmp_path: Path) -> None:
    data = RECURRENCE.read_bytes()
    store = Store(tmp_path / "store.db")
    first = synced(store, tmp_path, "recurrence.ics", data)
    assert first.reread == first.groups > 1
    second = synced(store, tmp_path, "recurrence.ics", new_summary(data.decode(), 3).encode())
    assert (second.reread, second.groups) == (1, first.groups)


def test_an_event_that_grows_moves_the_lines_of_those_below_without_reparsing_them(tmp_path: Path) -> None:
    data = RECURRENCE.read_bytes()
    store = Store(tmp_path / "store.db")
    first = synced(store, tmp_path, "recurrence.ics", data)
    grown = grow(data.decode(), 0).encode()
    second = synced(store, tmp_path, "recurrence.ics", grown)
    assert (second.reread, second.groups) == (1, first.groups)
    state = store_state(store)
    assert state == fresh_state(tmp_path, "recurrence.ics", grown)
    assert state != fresh_state(tmp_path, "recurrence.ics", data)   # the lines below the edit did move


def test_two_syncs_that_read_the_same_change_store_it_once(tmp_path: Path) -> None:
    # Bug: a second sync that had read the same edit from the same starting point applied its relative
    # changes again, and the events below the edit moved down twice.
    store = Store(tmp_path / "store.db")
    synced(store, tmp_path, "recurrence.ics", RECURRENCE.read_bytes())
    grown = grow(RECURRENCE.read_text(), 0).encode()
    (tmp_path / "recurrence.ics").write_bytes(grown)
    source = FileSource("src", "court", "recurrence.ics", tmp_path, case_pattern=CASE)
    task = Task(source, WINDOW, {}, store.group_tags("src"), None)
    reads = [read_one(task).read for _ in range(2)]   # two syncs, from the same stored read
    for read in reads:
        assert read is not None
        store.apply("src", "court", source.label, change_of(read), read.fetched.problems, {}, WINDOW.key(), 0.0,
                    0, lambda item: (), "k")
    assert store_state(store) == fresh_state(tmp_path, "recurrence.ics", grown)


def test_an_export_that_restamps_every_event_reparses_only_events_sharing_a_uid(tmp_path: Path) -> None:
    text = RECURRENCE.read_text()
    store = Store(tmp_path / "store.db")
    first = synced(store, tmp_path, "recurrence.ics", text.encode())
    uids = re.findall(r"^UID:(.*?)\r?$", text, re.M)
    shared = {uid for uid in uids if uids.count(uid) > 1}   # (a duplicate's DTSTAMP decides which one counts)
    stamped = restamp(text, 1)
    second = synced(store, tmp_path, "recurrence.ics", stamped.encode())
    assert (second.reread, second.groups) == (len(shared), first.groups)
    third = synced(store, tmp_path, "recurrence.ics", restamp_and_edit(stamped, 2).encode())
    assert third.reread <= 1 + len(shared)
    assert store_state(store) == fresh_state(tmp_path, "recurrence.ics", restamp_and_edit(stamped, 2).encode())


def test_a_cut_off_download_after_a_good_one_is_still_an_error(tmp_path: Path) -> None:
    data = RECURRENCE.read_bytes()
    store = Store(tmp_path / "store.db")
    synced(store, tmp_path, "recurrence.ics", data)
    before = store_state(store)
    report = synced(store, tmp_path, "recurrence.ics", data[:len(data) * 2 // 3])
    assert report.outcome == "failed" and report.error is not None and "truncated" in report.error.message
    assert store_state(store) == before   # the last good copy stays


def test_other_settings_reparse_every_event(tmp_path: Path) -> None:
    data = RECURRENCE.read_bytes()
    store = Store(tmp_path / "store.db")
    first = synced(store, tmp_path, "recurrence.ics", data)
    other = synced(store, tmp_path, "recurrence.ics", data, case_pattern=r"\d{4}-JD-\d+")
    assert other.reread == other.groups == first.groups


def test_a_file_touched_but_not_changed_reparses_nothing(tmp_path: Path) -> None:
    data = RECURRENCE.read_bytes()
    store = Store(tmp_path / "store.db")
    first = synced(store, tmp_path, "recurrence.ics", data)
    again = synced(store, tmp_path, "recurrence.ics", data)   # a new modification time: read, nothing parsed
    assert (again.outcome, again.reread, again.groups, again.events) == ("read", 0, first.groups, first.events)


# --- end to end, through the command line ------------------------------------------------------------

def _cfg(d: Path) -> list[str]:
    return ["--config", str(d / "courtsync.toml"), "--as-of", AS_OF.isoformat()]


def _lines(run: Callable[..., Run], d: Path) -> dict[tuple[str, str], int]:
    result = run("events", *_cfg(d), "--format", "json", "--offline")
    return {(e["uid"], e["start"]): e["line"] for e in json.loads(result.stdout)["events"]}


def _many_feeds(d: Path, copies: int) -> None:
    """The example's Cook feed published `copies` times (cook-cpd, cook-cpd#2, ...): enough sources that
    sync reads them in reader processes."""
    names = []
    for n in range(copies):
        name = f"feeds/cook-{n}.ics"
        shutil.copy(d / "feeds" / "cook-cpd.ics", d / name)
        names.append(name)
    config = d / "courtsync.toml"
    config.write_text(config.read_text().replace('feeds = ["feeds/cook-cpd.ics"]',
                                                 "feeds = [" + ", ".join(f'"{n}"' for n in names) + "]"))


def test_events_below_an_edit_report_their_new_lines(example_dir: Path, run: Callable[..., Run]) -> None:
    # Bug: events whose bytes did not change kept the line numbers of the last read, though an edit above
    # them had added lines; `events` then pointed at the wrong line.
    assert run("sync", *_cfg(example_dir)).exit_code == 0
    feed = example_dir / "feeds" / "cook-cpd.ics"
    feed.write_bytes(grow(feed.read_bytes().decode(), 0).encode())
    assert "1 of 12 events re-read" in run("sync", *_cfg(example_dir)).stdout
    after_edit = _lines(run, example_dir)
    for side in ("", "-wal", "-shm"):   # the calendar cache dropped: the next sync reads every feed afresh
        (example_dir / f"courtsync.cache.db{side}").unlink(missing_ok=True)
    assert run("sync", *_cfg(example_dir)).exit_code == 0
    assert after_edit == _lines(run, example_dir)
    assert len(set(after_edit.values())) > 3


def test_a_group_with_only_problems_is_replaced_when_it_changes(tmp_path: Path) -> None:
    # Bug: an event read as a problem alone (no item) kept its old problem when it moved, next to the new one.
    text = (CALENDARS / "broken" / "bad_lines.ics").read_text()
    kept = Store(tmp_path / "kept.db")
    synced(kept, tmp_path, "bad_lines.ics", text.encode())
    february_31 = next(k for k, m in enumerate(_events(text)) if "UID:bl-2" in m.group(0))
    moved = move_to_end(text, february_31).encode()
    synced(kept, tmp_path, "bad_lines.ics", moved)
    assert store_state(kept)[1] == fresh_state(tmp_path, "bad_lines.ics", moved)[1]
    assert sum("20270231" in reason for _, reason in store_state(kept)[1]) == 2


def test_many_sources_are_read_in_parallel_and_a_broken_one_fails_alone(example_dir: Path,
                                                                       run: Callable[..., Run]) -> None:
    _many_feeds(example_dir, 9)
    (example_dir / "feeds" / "cook-4.ics").write_text("<html><body>Service unavailable</body></html>")
    result = run("sync", *_cfg(example_dir))
    assert result.exit_code == 3
    lines = [line.split() for line in result.stdout.splitlines() if line.startswith(("cook", "will"))]
    assert [w[0] for w in lines] == ["cook-cpd", *(f"cook-cpd#{n}" for n in range(2, 10)), "will-juv"]
    assert [w[0] for w in lines if w[1] == "FAILED"] == ["cook-cpd#5"]
    cook = {w[2] for w in lines if w[1] == "read" and w[0].startswith("cook")}
    assert len(cook) == 1   # every copy of the Cook feed read to the same number of items


def test_a_copy_of_the_store_file_alone_holds_the_last_sync(example_dir: Path) -> None:
    # Bug: with many sources the process ended without folding SQLite's WAL into the database file, so a
    # copy of courtsync.db alone (a backup) missed the last sync.
    _many_feeds(example_dir, 9)
    env = {k: v for k, v in os.environ.items() if not k.startswith("COURTSYNC_")}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])   # this checkout's courtsync, whatever is installed
    done = subprocess.run([sys.executable, "-m", "courtsync", "sync", *_cfg(example_dir)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    copy = example_dir.parent / "backup.db"
    shutil.copy(example_dir / "courtsync.cache.db", copy)   # the calendar copies are in the cache file
    db = sqlite3.connect(copy)
    sources = dict(db.execute("SELECT id, events FROM sources").fetchall())
    items = dict(db.execute("SELECT source, count(*) FROM items GROUP BY source").fetchall())
    db.close()
    assert len(sources) == 10 and all(n > 0 for n in sources.values())
    assert items == sources


def test_reader_processes_of_the_courtsync_script_do_not_import_the_command_line(example_dir: Path,
                                                                                tmp_path: Path) -> None:
    # Bug: run as the `courtsync` script (what pip installs), each spawned reader process first ran the script
    # again, importing the whole command line (config models, click) before reading anything: a third of a
    # second of CPU per reader, on every sync of many sources. `python -m courtsync` did not show it.
    _many_feeds(example_dir, 9)
    script = tmp_path / "courtsync"   # the console script pip writes for `courtsync = "courtsync.cli:main"`
    script.write_text("import sys\nfrom courtsync.cli import main\nif __name__ == '__main__':\n    sys.exit(main())\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("COURTSYNC_")}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
    env["PYTHONPROFILEIMPORTTIME"] = "1"   # every process, readers too, lists what it imports on stderr
    done = subprocess.run([sys.executable, str(script), "sync", *_cfg(example_dir)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    imported = [line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time")]
    if imported.count("courtsync.sync.readers") < 2:
        pytest.skip("no reader processes here (one core): nothing to see")
    assert imported.count("courtsync.cli") == 1   # the command's own process only
    assert imported.count("pydantic") == 1


def test_fuzz_found_an_unreadable_dtstamp_is_still_reported_after_a_resync(tmp_path: Path) -> None:
    # Bug (found by the fuzzer): a one-event group's tag left out its DTSTAMP, so an edit that made the DTSTAMP
    # unreadable changed no tag, and the problem the careful reader reports for it never reached the store.
    name = "fuzz_control_character_in_parameter.ics"
    text = (CALENDARS / "broken" / name).read_text()
    broken = re.sub(r"(UID:cc-2\r?\nDTSTAMP:)[^\r\n]*", r"\g<1>20261101T999999999999999Z", text).encode()
    assert broken != text.encode()
    kept = Store(tmp_path / "kept.db")
    synced(kept, tmp_path, name, text.encode())
    assert synced(kept, tmp_path, name, broken).reread == 1
    assert store_state(kept) == fresh_state(tmp_path, name, broken)
    assert any("DTSTAMP cannot be read" in reason for _, reason in store_state(kept)[1])
