"""Fuzzing the iCalendar reader (issue 11): a few hundred seeded mutations of the fixture calendars, each
answered without a traceback, within a time limit and a memory bound, every untouched event read as
before, on a first read and on a re-read from the last good one. benchmarks/fuzz_ics.py runs thousands."""

from __future__ import annotations

from pathlib import Path

from courtsync.calendars.base import Known
from courtsync.errors import SourceError
from courtsync.store import Store
from tests import ics_mutator
from tests.test_resync import keep, known_from, store_state

COUNT = 600          # CI: the whole file stays well under a minute on a loaded two-core machine
SEED = 11
PER_CASE = 10.0      # seconds: a generous hang-guard (a case takes milliseconds)
MEMORY_MB = 400      # growth of the peak resident size over the whole run


def test_fuzzed_calendars_are_read_one_bad_event_at_a_time() -> None:
    baseline = ics_mutator.baselines()
    start_rss = ics_mutator.max_rss_mb()
    failures = []
    kinds: set[str] = set()
    for case in ics_mutator.cases(COUNT, SEED):
        kinds.add(case.kind)
        problem = ics_mutator.check(case, baseline, PER_CASE)
        if problem is None and ics_mutator.max_rss_mb() - start_rss > MEMORY_MB:
            problem = f"peak memory grew past {MEMORY_MB} MB"
        if problem:
            failures.append(f"{case.label()}: {problem}")
    assert set(ics_mutator.KINDS) <= kinds
    assert not failures, "\n".join(failures[:20])


def test_fuzzed_calendars_read_again_as_a_first_read_would(tmp_path: Path) -> None:
    """The partial re-read path (ics_parts) gives the store a first read of the mutated file would."""
    failures = []
    for k, case in enumerate(ics_mutator.cases(COUNT // 6, SEED + 1)):
        kept, fresh = Store(tmp_path / f"kept{k}.db"), Store(tmp_path / f"fresh{k}.db")
        original = (ics_mutator.CALENDARS / case.fixture).read_bytes()
        try:
            keep(kept, ics_mutator.read(original, case.fixture))
        except SourceError:
            continue
        known: Known = known_from(kept)
        try:
            again = ics_mutator.read(case.data, case.fixture, known)
            first = ics_mutator.read(case.data, case.fixture)
        except SourceError:
            continue
        keep(kept, again, known.index)
        keep(fresh, first)
        if store_state(kept) != store_state(fresh):
            failures.append(case.label())
        kept.close()
        fresh.close()
    assert not failures, "\n".join(failures[:20])
