"""Reading sources for a sync, side by side, within the command's limit: the one place reads run in parallel.

Each read is fetch -> compare each group's tag with the stored one -> parse the groups whose tag changed.
Many court feeds and calendars are read by a pool of spawned reader processes (never a fork of the sync
itself: safe where threads run, and on macOS); mail systems, which hold sessions
and tokens, and the rest are read on threads of this process at the same time. Whoever waits for a result
waits no longer than the command's limit: a read still running then is abandoned (its process ended, its
thread left to stop at its own next step).
"""

from __future__ import annotations

import os
import threading
import time as clock
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from functools import partial
from typing import TYPE_CHECKING

from courtsync.calendars.base import Fetched, Group, RawGroup, Source, Window, deadline_passed
from courtsync.errors import CourtsyncError, DeadlineError, SourceError
from courtsync.store.base import GroupTag

if TYPE_CHECKING:   # (reader processes import this module: only what a read needs)
    import multiprocessing.context
    from concurrent.futures import Future, ProcessPoolExecutor

    from courtsync.sync.policy import Limit


@dataclass(frozen=True)
class Task:
    """One source to read: with the validators and the group tags of its stored read (empty: read it all)."""

    source: Source
    window: Window
    validators: dict[str, str]
    stored: dict[str, str]   # group key -> stored tag and first line (store.cache_groups.GroupTag, encoded)
    limit: Limit | None


@dataclass
class SourceRead:
    """A read as sync takes it: the fetch without its groups, the keys of all its groups, those parsed anew
    (with their tag and first line), and the unchanged ones that now start on another line."""

    fetched: Fetched
    keys: list[str] = field(default_factory=list)
    parsed: dict[str, tuple[GroupTag, Group]] = field(default_factory=dict)
    moved: dict[str, GroupTag] = field(default_factory=dict)


@dataclass(frozen=True)
class ReadResult:
    """One source's read as it comes back (from this process or a reader process)."""

    read: SourceRead | None
    error: CourtsyncError | None   # why it was not read: its message, hint and exit code (2: configuration)
    seconds: float
    abandoned: str | None = None   # "deadline": cut off at a command's deadline; "skipped": not started


PARALLEL_FROM = 8   # sources a process pool may read; below this starting the pool costs more than it saves
THREADS = 16        # reads at once on threads of this process


def compare(fetched: Fetched, stored: dict[str, str]) -> tuple[list[RawGroup], dict[str, GroupTag]]:
    """The groups to parse (read this time, and not stored with this tag), and the unchanged groups that now
    start on another line than the stored copy's."""
    changed: list[RawGroup] = []
    moved: dict[str, GroupTag] = {}
    text = GroupTag.text
    for group in fetched.groups:
        tag = group.tag
        if tag is None:   # not read this time: the stored copy stays as it is
            continue
        held = stored.get(group.key)
        if held is None:
            changed.append(group)
        elif held != text(tag, group.first_line):   # (most groups are as stored: one string compared)
            if GroupTag.decode(held).tag != tag:
                changed.append(group)
            else:
                moved[group.key] = GroupTag(tag, group.first_line)
    return changed, moved


def read_one(task: Task) -> ReadResult:
    """Fetch, compare, parse what changed. Never raises for a source that cannot be read."""
    started = clock.perf_counter()
    source, limit = task.source, task.limit
    if limit is not None:
        until = limit.until()
        if until - clock.monotonic() < 0.05:   # a command's deadline passed before this read could start
            return ReadResult(None, DeadlineError("not read: the command's deadline had passed"), 0.0, "skipped")
        if hasattr(source, "deadline"):
            setattr(source, "deadline", until)   # noqa: B010 (not every source type has one)
    try:
        fetched = source.fetch(task.window, task.validators)
        changed, moved = compare(fetched, task.stored)
        parsed = source.parse(fetched, changed) if changed else {}
    except DeadlineError as exc:
        seconds = clock.perf_counter() - started
        if limit is not None and limit.shared:
            return ReadResult(None, exc.with_traceback(None), seconds, "deadline")
        return ReadResult(None, DeadlineError(f"{source.label} did not finish within "
                                              f"{limit.seconds if limit else seconds:.0f} s; abandoned."), seconds)
    except CourtsyncError as exc:
        return ReadResult(None, exc.with_traceback(None), clock.perf_counter() - started)
    # What goes back: no raw bytes, no reader (a result from a reader process is pickled).
    tags = {g.key: GroupTag(g.tag, g.first_line) for g in changed if g.tag is not None}
    read = SourceRead(replace(fetched, groups=[], context=None), [g.key for g in fetched.groups],
                      {key: (tags[key], group) for key, group in parsed.items() if key in tags}, moved)
    return ReadResult(read, None, clock.perf_counter() - started)


def _read_packed(task: Task) -> bytes:
    """_read_guarded in a reader process, its result pickled here: the pool's own pickle of these bytes is
    cheap, and the sync's process unpickles each result only when it takes it (concurrent.futures would
    unpickle every finished result at once, on its own thread: the reads done ahead would sit in memory as
    objects, several times their pickled size)."""
    import pickle

    return pickle.dumps(_read_guarded(task), protocol=pickle.HIGHEST_PROTOCOL)


def _read_guarded(task: Task) -> ReadResult:
    try:
        return read_one(task)
    except Exception as exc:   # a defect of ours: this source fails, the others are still read
        return ReadResult(None, SourceError(f"internal error reading this source ({type(exc).__name__}); "
                                            "please report it"), 0.0)


@contextmanager
def read_all(tasks: list[Task]) -> Iterator[Iterator[ReadResult]]:
    """The tasks' results in task order, each as it is asked for. Local files are read before any network
    source, so a server that hangs until the command's deadline never leaves a file unread."""
    order = sorted(range(len(tasks)), key=lambda i: not getattr(tasks[i].source, "local", False))
    ordered = [tasks[i] for i in order]
    cores = min(os.cpu_count() or 1, 4)
    pooled = [t for t in ordered if not getattr(t.source, "in_process", False)]
    if len(pooled) < PARALLEL_FROM or cores < 2:
        pooled = []
    rest = [t for t in ordered if all(t is not p for p in pooled)]
    network = [t for t in rest if not getattr(t.source, "local", False)]
    shared = any(t.limit is not None and t.limit.shared for t in tasks)
    threaded = len(rest) > 1 and (bool(pooled) or (len(network) > 1 and shared))
    # Without a shared deadline this process reads files too while it waits: then one reader process fewer, and
    # only one when every read is a re-read of a local file (short: a few ms each); never fewer than two when a
    # read may be long (a first read, a server's), so that one such read does not hold up those queued behind it.
    here = not shared and any(map(_readable_here, pooled))
    workers = max(1 if all(map(_readable_here, pooled)) else 2, cores - 1) if here else cores
    with _pool(pooled, workers, read_here=here) as waits:
        if threaded:
            waits.update(_threads(rest))
        else:   # one at a time, on this thread, each when its result is asked for
            waits.update({id(t): partial(_read_guarded, t) for t in rest})
        yield _in_task_order(order, (waits[id(t)]() for t in ordered))


Wait = Callable[[], ReadResult]


def _in_task_order(order: list[int], results: Iterator[ReadResult]) -> Iterator[ReadResult]:
    """Results read in `order` (order[k]: the task read k-th), given back in task order as each is asked for."""
    got: dict[int, ReadResult] = {}
    read = iter(order)
    for i in range(len(order)):
        while i not in got:
            got[next(read)] = next(results)
        yield got.pop(i)


def _until(task: Task) -> float | None:
    """When a result is given up on: a command's shared deadline, or an explicit sync's per-read limit
    counted from when the result is awaited."""
    limit = task.limit
    return None if limit is None else (limit.until() if limit.shared else clock.monotonic() + limit.seconds)


def _cut_off(task: Task, started: float) -> ReadResult:
    return ReadResult(None, deadline_passed(task.source.label), clock.monotonic() - started, "deadline")


def _threads(tasks: list[Task]) -> dict[int, Wait]:
    """Each task on a daemon thread of its own (THREADS at once): a read still running at the limit is left to
    it (it stops at its own next step) and never keeps the command from ending."""
    gate = threading.Semaphore(THREADS)
    waits: dict[int, Wait] = {}
    for task in tasks:
        done = threading.Event()
        slot: list[ReadResult] = []

        def run(task: Task = task, slot: list[ReadResult] = slot, done: threading.Event = done) -> None:
            with gate:
                slot.append(_read_guarded(task))
            done.set()

        threading.Thread(target=run, daemon=True, name=f"courtsync-read-{task.source.id}").start()

        def wait(task: Task = task, slot: list[ReadResult] = slot, done: threading.Event = done) -> ReadResult:
            started, until = clock.monotonic(), _until(task)
            if not done.wait(None if until is None else max(0.0, until - clock.monotonic()) + RESULT_GRACE):
                return _cut_off(task, started)
            return slot[0]

        waits[id(task)] = wait
    return waits


RESULT_GRACE = 0.2   # seconds past the limit a read that stops itself there is given to say so


@contextmanager
def _pool(tasks: list[Task], workers: int, read_here: bool = False) -> Iterator[dict[int, Wait]]:
    """The tasks read by `workers` reader processes, in order, a few ahead of the one waited for (so that reads
    done but not yet stored do not pile up in memory). A result not back by the limit (a CPU-bound parse does
    not look at the deadline) is reported not read in time, and the pool's processes are ended then.

    `read_here`: while the result waited for is not back (a reader process takes a fifth of a second to
    start), this process reads the next local files itself. Never under a command's shared deadline: only a
    reader process can be stopped at it (a file read here runs to its end, as with fewer than PARALLEL_FROM
    sources)."""
    if not tasks:
        yield {}
        return
    # Loaded only when a pool is used: a command that reads a few sources (or none) does not pay for them.
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=_context())
    reads = _Reads(pool, tasks, 4 * workers, read_here)
    reads.top_up()
    try:
        yield {id(t): partial(reads.wait, t) for t in tasks}
    finally:
        if reads.late or reads.next < len(tasks) or any(not f.done() for f in reads.futures.values()):
            _end(pool)
        pool.shutdown(wait=True, cancel_futures=True)


class _Reads:
    """The pool's reads in task order: those given to the reader processes (at most `ahead` not yet taken back)
    and those this process read itself meanwhile."""

    def __init__(self, pool: ProcessPoolExecutor, tasks: list[Task], ahead: int, read_here: bool) -> None:
        self.pool, self.tasks, self.ahead, self.read_here = pool, tasks, ahead, read_here
        self.futures: dict[int, Future[bytes]] = {}       # given to the pool, not yet taken back
        self.here: dict[int, ReadResult] = {}               # read by this process, not yet taken back
        self.held = 0      # what the reads in `here` hold: a share for each, and their groups parsed
        self.next = 0      # the first task neither given to the pool nor read here
        self.late = False
        self.broken = False   # a reader process died: the pool takes no more

    def top_up(self) -> None:
        from concurrent.futures.process import BrokenProcessPool

        while not self.broken and len(self.futures) < self.ahead and self.next < len(self.tasks):
            task = self.tasks[self.next]
            try:
                self.futures[id(task)] = self.pool.submit(_read_packed, task)
            except BrokenProcessPool:
                self.broken = True
                return
            self.next += 1

    def read_one_here(self) -> bool:
        """Read the next task in this process, if it may be (_readable_here) and what waits here is not already
        much."""
        if not self.read_here or self.next >= len(self.tasks) or self.held > HELD_AT_MOST:
            return False
        task = self.tasks[self.next]
        if not _readable_here(task):
            return False
        self.next += 1
        result = self.here[id(task)] = _read_guarded(task)
        self.held += _weight(result)
        return True

    def wait(self, task: Task) -> ReadResult:
        from concurrent.futures import TimeoutError as FutureTimeout
        from concurrent.futures.process import BrokenProcessPool

        self.top_up()
        # The pool broke before it took this one (the next task): read here if it may be, else given up.
        if id(task) not in self.here and id(task) not in self.futures and not self.read_one_here():
            self.next += 1
            return ReadResult(None, SourceError(STOPPED), 0.0)
        if id(task) in self.here:
            result = self.here.pop(id(task))
            self.held -= _weight(result)
            return result
        future = self.futures[id(task)]
        started, until = clock.monotonic(), _until(task)   # (the limit counts from now, reads here included)
        while not future.done() and self.read_one_here():
            pass
        try:
            packed = future.result(None if until is None else max(0.0, until - clock.monotonic()))
        except FutureTimeout:
            self.late = True
            return _cut_off(task, started)
        except BrokenProcessPool:   # a reader process died (killed, out of memory)
            return ReadResult(None, SourceError(STOPPED), 0.0)
        finally:   # (taken back only now: a pool left with a read running is ended, not waited for)
            self.futures.pop(id(task), None)
        import pickle

        taken: ReadResult = pickle.loads(packed)
        return taken


HELD_AT_MOST = 2000   # what reads done here may hold while they wait for their turn (see _weight)
STOPPED = "the process reading this source stopped; run `courtsync sync` again"


def _readable_here(task: Task) -> bool:
    """A task the sync's own process may take while it waits: the re-read of a local file (a first read is long
    and takes the most memory: it stays with the reader processes)."""
    return bool(getattr(task.source, "local", False) and task.stored)


def _weight(result: ReadResult) -> int:
    """What a read waiting for its turn holds, counted in parsed groups: those it parsed, and 100 for the rest
    (its list of keys, its problems), so that many reads that parsed nothing cannot pile up either."""
    return 100 + (len(result.read.parsed) if result.read else 0)


def _end(pool: ProcessPoolExecutor) -> None:
    """End a pool's processes now (a read abandoned at the deadline, or the sync interrupted)."""
    stop = getattr(pool, "kill_workers", None)   # Python 3.14+
    if stop is not None:
        stop()
        return
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        with suppress(OSError, AttributeError):
            process.kill()


def _context() -> multiprocessing.context.BaseContext:
    """Reader processes are spawned: started afresh, never a fork of this process (whose threads may hold
    locks; macOS refuses), and never from a fork server a forked copy of this process would share."""
    import multiprocessing

    return multiprocessing.get_context("spawn")
