"""Files only their owner can read (0600) in folders only their owner can enter (0700): the store, digests,
letters, print batches and the example all hold names of staff, and the store hearing text besides."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

FILE_MODE = 0o600
FOLDER_MODE = 0o700


@contextmanager
def owner_only() -> Iterator[None]:
    """Everything created inside (by us or by a library such as SQLite) is created owner-only. The umask is
    process-wide, so this is only held around the creating calls themselves."""
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)


def make_folder(folder: Path) -> None:
    """Create `folder` and any missing parents as 0700. A folder that already exists is the user's choice
    (`--out .`, a shared drive) and is left as it is."""
    with owner_only():
        folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)


def _too_open(st: os.stat_result) -> bool:
    # Only our own files: another user's file that we may write to was shared with us on purpose.
    return stat.S_ISREG(st.st_mode) and bool(st.st_mode & 0o077) and st.st_uid == os.geteuid()


def tighten(path: Path) -> None:
    """Take group and other access away from an existing file (a store or output from an older release)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return
    if _too_open(st):
        os.chmod(path, stat.S_IMODE(st.st_mode) & ~0o077)


def touch(path: Path) -> None:
    """Make sure `path` exists as an owner-only file, creating it empty if need be (before a library opens
    it, so that files the library derives from it, such as SQLite's -wal and -shm, take its mode)."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    except FileExistsError:   # opened as it is, even read-only; only its mode is corrected
        tighten(path)


def write_file(path: Path, data: bytes) -> None:
    """Write `data` to `path` as an owner-only file; an existing file is tightened before it is rewritten."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        st = os.fstat(fd)
        if _too_open(st):
            os.fchmod(fd, stat.S_IMODE(st.st_mode) & ~0o077)
        with os.fdopen(fd, "wb", closefd=False) as out:
            out.write(data)
    finally:
        os.close(fd)
