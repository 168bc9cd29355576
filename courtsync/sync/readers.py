"""Reading sources for a sync: here, or in forked readers when there are many, within the command's limit."""

from __future__ import annotations

import gc
import os
import select
import signal
import time as clock
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import NoReturn

from courtsync.calendars.base import Snapshot, Source, Window, deadline_passed
from courtsync.errors import CourtsyncError, DeadlineError, SourceError
from courtsync.sync.policy import Limit


@dataclass(frozen=True)
class ReadResult:
    """One source's read as it comes back (from this process or a forked reader)."""

    snap: Snapshot | None
    error: CourtsyncError | None   # why it was not read: its message, hint and exit code (2: configuration)
    seconds: float
    abandoned: str | None = None   # "deadline": cut off at a command's deadline; "skipped": not started


PARALLEL_FROM = 8   # sources; below this a process pool costs more than it saves


Task = tuple[Source, Window, dict[str, str], dict[str, str], Limit | None]


def _read_one(task: Task) -> ReadResult:
    source, window, validators, known, limit = task
    started = clock.perf_counter()
    if limit is not None:
        until = limit.until()
        if until - clock.monotonic() < 0.05:   # a command's deadline passed before this read could start
            return ReadResult(None, DeadlineError("not read: the command's deadline had passed"), 0.0, "skipped")
        if hasattr(source, "deadline"):
            setattr(source, "deadline", until)   # noqa: B010 (not every source type has one)
    try:
        return ReadResult(source.read(window, validators, known), None, clock.perf_counter() - started)
    except DeadlineError as exc:
        seconds = clock.perf_counter() - started
        if limit is not None and limit.shared:
            return ReadResult(None, exc.with_traceback(None), seconds, "deadline")
        return ReadResult(None, DeadlineError(f"{source.label} did not finish within "
                                              f"{limit.seconds if limit else seconds:.0f} s; abandoned."), seconds)
    except CourtsyncError as exc:
        return ReadResult(None, exc.with_traceback(None), clock.perf_counter() - started)


@contextmanager
def read_all(tasks: list[Task]) -> Iterator[Iterator[ReadResult]]:
    """The tasks' results in order: read here, or by forked readers when there are many (forked on entry,
    before anything else starts a thread). Local files are read before any network source, so a server that
    hangs until the command's deadline never leaves a file (read in milliseconds) unread."""
    order = sorted(range(len(tasks)), key=lambda i: not getattr(tasks[i][0], "local", False))
    with _read_in_order([tasks[i] for i in order]) as results:
        yield _in_task_order(order, results)


def _in_task_order(order: list[int], results: Iterator[ReadResult]) -> Iterator[ReadResult]:
    """Results read in `order` (order[k]: the task read k-th), given back in task order as each is asked for."""
    got: dict[int, ReadResult] = {}
    read = iter(order)
    for i in range(len(order)):
        while i not in got:
            got[next(read)] = next(results)
        yield got.pop(i)


@contextmanager
def _read_in_order(tasks: list[Task]) -> Iterator[Iterator[ReadResult]]:
    cores = min(os.cpu_count() or 1, 4)
    if len(tasks) < PARALLEL_FROM or cores < 2 or not hasattr(os, "fork") or \
            not all(getattr(t[0], "parallel_safe", True) for t in tasks):
        network = [t for t in tasks if not getattr(t[0], "local", False)]
        if len(network) > 1 and any(t[4] is not None and t[4].shared for t in network):
            with _threaded(tasks) as results:
                yield results
            return
        yield map(_read_one, tasks)
        return
    with _forked_readers(tasks, cores) as results:
        yield results


@contextmanager
def _threaded(tasks: list[Task]) -> Iterator[Iterator[ReadResult]]:
    """Few sources, several over the network, under one command's deadline: read them side by side, so a
    server that hangs until the deadline never leaves another feed unread (each read stops itself there)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=len(tasks), thread_name_prefix="courtsync-read") as pool:
        futures = [pool.submit(_read_one, t) for t in tasks]
        yield (f.result() for f in futures)


class _Late(Exception):
    """A reader's next result did not come by the deadline."""


def _receive(fd: int, until: float | None) -> ReadResult:
    """One framed result from a reader's pipe (8-byte length, then the pickle), waited for until `until`
    (time.monotonic(); None: as long as it takes). Once a result has begun it is read to its end (the reader
    is writing it), so a deadline never splits one."""
    import pickle

    def exactly(n: int, until: float | None) -> bytes:
        out = bytearray()
        while len(out) < n:
            wait = None if until is None else max(0.0, until - clock.monotonic())
            if not select.select([fd], [], [], wait)[0]:
                raise _Late
            chunk = os.read(fd, n - len(out))
            if not chunk:
                raise EOFError
            out += chunk
        return bytes(out)

    size = int.from_bytes(exactly(8, until), "big")
    result: ReadResult = pickle.loads(exactly(size, None if until is None else
                                              max(until, clock.monotonic() + RESULT_GRACE)))
    return result


RESULT_GRACE = 2.0   # seconds a result that has begun to arrive may take to finish (it is being written)


@contextmanager
def _forked_readers(tasks: list[Task], workers: int) -> Iterator[Iterator[ReadResult]]:
    """Reader k reads tasks k, k + workers, ... (it inherits them; nothing is sent) and writes each result
    into its own pipe, so results come back in task order as they are ready. A CPU-bound parse does not look
    at the deadline: the parent waits on the pipes only until it, then kills that reader and reports its
    sources not read in time."""
    import pickle

    children: list[tuple[int, int]] = []   # (pid, read end of its pipe)
    late: set[int] = set()   # readers killed at the deadline

    def results() -> Iterator[ReadResult]:
        started = clock.monotonic()
        limit = tasks[0][4] if tasks else None
        for i in range(len(tasks)):
            k = i % workers
            pid, fd = children[k]
            if k in late:
                yield _cut_off(tasks[i], started)
                continue
            # a command's shared deadline; an explicit sync's per-read limit, from when this result is awaited
            until = None if limit is None else (limit.until() if limit.shared else clock.monotonic() + limit.seconds)
            try:
                yield _receive(fd, until)
            except _Late:
                with suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
                late.add(k)
                yield _cut_off(tasks[i], started)
            except (EOFError, pickle.UnpicklingError, OSError, ValueError):   # the reader died (killed, out of memory)
                yield ReadResult(None, SourceError("the process reading this source stopped; run `courtsync sync` "
                                                   "again"), 0.0)

    try:
        # Keep the readers' collector off what they inherit, so they share those pages instead of copying
        # them (gc.freeze before fork, as the gc documentation advises).
        gc.freeze()
        try:
            for k in range(workers):
                read_end, write_end = os.pipe()
                with warnings.catch_warnings():
                    # Python 3.12+ warns about fork in a process with threads (a progress bar's); the
                    # readers only parse bytes and write to their pipe, touching no lock of those threads.
                    warnings.simplefilter("ignore", DeprecationWarning)
                    pid = os.fork()
                if pid == 0:   # the reader: never returns
                    os.close(read_end)
                    _reader_process(tasks[k::workers], write_end)
                os.close(write_end)
                children.append((pid, read_end))
        finally:
            gc.unfreeze()
        yield results()
    finally:
        for pid, fd in children:
            os.close(fd)   # a reader still writing gets EPIPE and ends
            os.waitpid(pid, 0)


def _cut_off(task: Task, started: float) -> ReadResult:
    return ReadResult(None, deadline_passed(task[0].label), clock.monotonic() - started, "deadline")


def _reader_process(tasks: list[Task], fd: int) -> NoReturn:
    import pickle

    code = 0
    try:
        with os.fdopen(fd, "wb") as out:
            for task in tasks:
                try:
                    result = _read_one(task)
                except Exception as exc:   # a defect of ours: this source fails, the others are still read
                    result = ReadResult(None, SourceError(f"internal error reading this source "
                                                          f"({type(exc).__name__}); please report it"), 0.0)
                data = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
                out.write(len(data).to_bytes(8, "big") + data)
                out.flush()
    except BaseException:   # interrupted, or the parent went away
        code = 1
    finally:
        os._exit(code)
