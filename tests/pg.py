"""A throwaway PostgreSQL cluster for the tests: initdb into a temporary folder, pg_ctl on a unix socket there
(no TCP port), a fresh database per test. PostgreSQL refuses to run as root, and CI runs as root: the cluster
then belongs to, and runs as, the `postgres` user that Debian's package creates."""

from __future__ import annotations

import concurrent.futures
import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import quote


def binaries() -> Path | None:
    """The folder of initdb and pg_ctl (Debian keeps them out of PATH), or None when PostgreSQL is missing."""
    for found in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(found) / "initdb").exists():
            return Path(found)
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


class Cluster:
    """One running cluster; `url(name)` of a database in it, `database()` a new empty one."""

    _names = itertools.count(1)

    def __init__(self) -> None:
        bin_dir = binaries()
        if bin_dir is None:
            raise RuntimeError("PostgreSQL is not installed (Debian: apt-get install postgresql); .ci/run "
                               "installs it")
        self.bin = bin_dir
        self.folder = Path(tempfile.mkdtemp(prefix="courtsync-pg-"))
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.folder, user.pw_uid, user.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.data = self.folder / "data"
        self.port = 5432
        self._prepared: str | None = None
        self._dropping = concurrent.futures.ThreadPoolExecutor(max_workers=1)
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8",
                  "--locale=C.UTF-8")
        self.resume()

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self.as_user, str(self.bin / tool), *args], check=True, capture_output=True,
                       cwd=self.folder)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@/{database}?host={quote(str(self.folder), safe='')}&port={self.port}"

    def admin(self, *statements: str) -> None:
        import psycopg
        with psycopg.connect(self.url(), autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement)   # type: ignore[arg-type]

    def database(self, template: str | None = None) -> str:
        """A new database's URL: empty, or a copy of `template` (a database no one is connected to)."""
        name = f"t{os.getpid()}_{next(self._names)}"
        self.admin(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
        return self.url(name)

    def prepared(self) -> str:
        """A new database with courtsync's schema already created (a copy of one made once): what a test that
        is not about creating the schema starts from, 25 ms sooner than creating it."""
        if self._prepared is None:
            from courtsync.store.postgres import PostgresStore

            url = self.database()
            with PostgresStore(url) as store:
                store.upgrade()
            self._prepared = url.split("/")[3].split("?")[0]
        return self.database(template=self._prepared)

    def drop(self, url: str, wait: bool = True) -> None:
        """Drop the database; `wait=False`: on a thread of its own, while the next test runs."""
        name = url.split("/")[3].split("?")[0]
        if wait:
            self.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            return
        self._dropping.submit(self.admin, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def stop(self) -> None:
        self._dropping.shutdown(wait=True)
        subprocess.run([*self.as_user, str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
                       capture_output=True, cwd=self.folder)
        shutil.rmtree(self.folder, ignore_errors=True)

    def pause(self) -> None:
        """The server goes away (fast shutdown: every connection is cut)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def resume(self) -> None:
        options = (f"-k {self.folder} -c listen_addresses='' -p {self.port} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.folder / "log"), "-w", "start")
