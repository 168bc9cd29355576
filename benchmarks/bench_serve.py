"""`courtsync serve` at state scale: 50 people asking /api/check at once, and 10,000 calendar subscriptions
polling with If-None-Match. PostgreSQL (a throwaway cluster, as the tests start it) beside SQLite, in one run;
and, as the obvious alternative without a service, one `courtsync check` process per question.

    python benchmarks/bench_serve.py [--seconds 20] [--clients 50] [--workers 2] [--subscriptions 10000]
                                     [--data benchmarks/data/state] [--backends postgresql,sqlite]

Each backend: a synced copy of the data set, `courtsync serve --workers N` on a loopback port, then
  1. check: CLIENTS connections of wrk (Debian's `wrk`: C, light beside the server on the same two cores) asking
     /api/check for random workers and dates for SECONDS, each asking again as soon as answered (a closed loop:
     the harshest reading of "50 people at once"); throughput and p50/p95/p99 latency (target: p95 < 100 ms);
  2. subscriptions: SUBSCRIPTIONS distinct worker calendars fetched once (200, keeping each ETag; httpx), then
     polled with If-None-Match by wrk for SECONDS: the share answered 304 and their latency (target: < 10 ms).
Latency is measured at the client (queueing included). The machine is shared: compare within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
from common import AS_OF, ENV, check_picks, courtsync, ensure_data, timed, working_copy  # noqa: E402

SECRET = "benchmark-secret-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepared(data: Path, backend: str, cluster: Any) -> Path:
    """A copy of the data set on this backend, synced, with a [server] table for the benchmark."""
    work = working_copy(data, f"serve-{backend}")
    toml = work / "courtsync.toml"
    text = toml.read_text()
    if backend == "postgresql":
        url = cluster.database()
        lines = [line for line in text.splitlines() if not line.startswith("store =")]
        text = f'store = "{url}"\n' + "\n".join(lines) + "\n"
    # No background refresh: the copy was synced for AS_OF, and a refresh would re-read it for today's window
    # while the load runs (in production it re-reads what is due, a few sources a turn).
    text += '\n[server]\nauth = "none"\nsecret_env = "COURTSYNC_SECRET"\nrefresh = "0s"\n'
    toml.write_text(text)
    seconds, proc = timed([*courtsync(), "sync", "--as-of", AS_OF], work)
    if proc.returncode not in (0, 3):
        raise SystemExit(f"sync failed on {backend}:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    print(f"  [{backend}] synced in {seconds:.1f} s", flush=True)
    return work


def start(work: Path, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    import httpx
    port = free_port()
    env = {**ENV, "COURTSYNC_SECRET": SECRET}
    log = open(work / "serve.log", "wb")   # noqa: SIM115 (the server's, for as long as it runs)
    proc = subprocess.Popen([*courtsync(), "serve", "--port", str(port), "--workers", str(workers)], cwd=work,
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{base}/readyz", timeout=30).status_code == 200:
                return proc, base
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("the server did not start")


def wrk(base: str, lines: list[str], seconds: float, clients: int) -> dict[str, Any]:
    """wrk (C, light beside the server on the same cores) with CLIENTS connections for SECONDS, each request the
    next of `lines` ("PATH" or "PATH<TAB>ETAG", sent as If-None-Match): requests, seconds, percentiles, statuses."""
    exe = shutil.which("wrk")
    if exe is None:
        raise SystemExit("wrk is needed for the load (Debian: apt-get install wrk)")
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("\n".join(lines) + "\n")
    try:
        out = subprocess.run([exe, f"-t{min(2, clients)}", f"-c{clients}", f"-d{max(1, round(seconds))}s",
                              "--timeout", "10s", "-s", str(HERE / "wrk_paths.lua"), base], capture_output=True,
                             text=True, env={**ENV, "WRK_PATHS": f.name}, check=True).stdout
    finally:
        os.unlink(f.name)
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    return dict(json.loads(line[len("RESULT "):]))


async def _first_fetch(base: str, paths: list[str], clients: int) -> tuple[dict[str, str], list[float], float]:
    """Each calendar fetched once (CLIENTS at a time): its ETag, each fetch's latency, the wall time."""
    import httpx
    gate = asyncio.Semaphore(clients)
    tags: dict[str, str] = {}
    latencies: list[float] = []
    retried: list[str] = []
    async with httpx.AsyncClient(base_url=base, timeout=60,
                                 limits=httpx.Limits(max_connections=clients, keepalive_expiry=2)) as client:
        async def fetch(path: str) -> None:
            async with gate:
                began = time.perf_counter()
                try:
                    answer = await client.get(path)
                except (httpx.RemoteProtocolError, httpx.ReadError):   # a kept-alive connection the server closed
                    retried.append(path)
                    answer = await client.get(path)
                latencies.append(time.perf_counter() - began)
                if answer.status_code == 200:
                    tags[path] = answer.headers["etag"]
        began = time.perf_counter()
        await asyncio.gather(*(fetch(p) for p in paths))
    if retried:
        print(f"  ({len(retried)} first fetch(es) asked again after the server closed a kept-alive connection)")
    return tags, latencies, time.perf_counter() - began


def said(result: dict[str, Any]) -> str:
    rate = result["requests"] / result["seconds"]
    return (f"{result['requests']} answers in {result['seconds']:.1f} s = {rate:.0f}/s; p50 {result['p50']:.1f} ms, "
            f"p95 {result['p95']:.1f} ms, p99 {result['p99']:.1f} ms, max {result['max']:.0f} ms; "
            f"status {result['statuses']}, socket errors {result['errors']}")


def percentiles(values: list[float]) -> str:
    ordered = sorted(values)
    if not ordered:
        return "no answers"

    def at(share: float) -> float:
        return ordered[min(len(ordered) - 1, int(len(ordered) * share))] * 1000

    return f"p50 {at(0.50):.1f} ms, p95 {at(0.95):.1f} ms, p99 {at(0.99):.1f} ms, max {ordered[-1] * 1000:.0f} ms"


def calendar_paths(work: Path, count: int) -> list[str]:
    os.environ["COURTSYNC_SECRET"] = SECRET
    from courtsync.config import links
    from courtsync.config.schema import load_config
    config = load_config(work / "courtsync.toml")
    workers = [line.split(",", 1)[0] for line in (work / "workers.csv").read_text().splitlines()[1:]][:count]
    return [links.calendar_link(config, "worker", w).split("8080", 1)[1] for w in workers]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--subscriptions", type=int, default=10_000)
    parser.add_argument("--backends", default="postgresql,sqlite")
    parser.add_argument("--data", type=Path, default=HERE / "data" / "state")
    args = parser.parse_args()
    ensure_data(args.data)
    picks = check_picks(args.data, random.Random(1), 2000)
    cluster = None
    if "postgresql" in args.backends:
        from tests.pg import Cluster
        cluster = Cluster()
    try:
        for backend in args.backends.split(","):
            print(f"\n== {backend}: courtsync serve --workers {args.workers}, {args.clients} clients", flush=True)
            work = prepared(args.data, backend, cluster)
            proc, base = start(work, args.workers)
            try:
                checks = [f"/api/check?worker={w}&date={d}&as_of={AS_OF}" for w, d in picks]
                wrk(base, checks, 5, 10)   # warm-up: the pool's connections, prepared statements
                print(f"  /api/check, {args.clients} clients: {said(wrk(base, checks, args.seconds, args.clients))}",
                      flush=True)
                print(f"  /api/check, one client: {said(wrk(base, checks, 5, 1))}", flush=True)
                paths = calendar_paths(work, args.subscriptions)
                tags, first, wall = asyncio.run(_first_fetch(base, paths, args.clients))
                print(f"  calendars, first fetch of {len(paths)}: {len(paths) / wall:.0f}/s; {percentiles(first)}; "
                      f"{len(tags)} with an ETag", flush=True)
                polls = [f"{p}\t{tags.get(p, '')}" for p in paths]
                # Each worker process keeps the ETags of what it served: until a calendar has been asked of every
                # worker, a poll may find it made again. Polled for a while first, as subscriptions are all day.
                warm = wrk(base, polls, max(5.0, 3 * len(paths) / 600), args.clients)
                print(f"  calendars, warming the polls: {warm['statuses']}", flush=True)
                poll = wrk(base, polls, args.seconds, args.clients)
                share = poll["statuses"].get("304", 0) / max(1, poll["requests"])
                print(f"  calendars, {len(paths)} subscriptions polling with If-None-Match: {share:.1%} answered "
                      f"304; {said(poll)}", flush=True)
                print(f"  calendars, polls one at a time: {said(wrk(base, polls, 5, 1))}", flush=True)
            except BaseException:
                print((work / "serve.log").read_text()[-4000:])
                raise
            finally:
                proc.terminate()
                proc.wait(timeout=30)
        data = args.data
        sample = picks[:10]
        times = []
        for worker, day in sample:
            seconds, _ = timed([*courtsync(), "check", "--worker", worker, "--date", day, "--as-of", AS_OF,
                                "--offline"], HERE / "data" / f"serve-{args.backends.split(',')[-1]}")
            times.append(seconds)
        print(f"\n== without a service: one `courtsync check` process per question ({len(sample)} runs, "
              f"data {data.name}): median {statistics.median(times) * 1000:.0f} ms each, one at a time")
    finally:
        if cluster is not None:
            cluster.stop()
        for backend in args.backends.split(","):
            shutil.rmtree(HERE / "data" / f"serve-{backend}", ignore_errors=True)


if __name__ == "__main__":
    main()
