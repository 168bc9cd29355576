"""The weekly digest at state scale: all supervisors' digests rendered and written, then rendered, queued
and delivered to a real SMTP server on loopback (aiosmtpd, from the test extra).

    python benchmarks/bench_digest.py [--data benchmarks/data/state]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import AS_OF, ENV, HERE, courtsync  # noqa: E402

sys.path.insert(0, str(HERE.parent))



def main() -> None:
    from tests.smtp_server import SmtpServer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=HERE / "data" / "state")
    args = parser.parse_args()
    if not (args.data / "feeds").is_dir():
        subprocess.run([sys.executable, str(HERE / "generate.py"), str(args.data)], check=True)
    work = HERE / "data" / "digest-run"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(args.data, work, ignore=shutil.ignore_patterns("courtsync.db*"))
    subprocess.run([*courtsync(), "sync", "--as-of", AS_OF], cwd=work, capture_output=True, env=ENV, check=False)
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        proc = subprocess.run([*courtsync(), "digest", "--as-of", AS_OF, "--out", out], cwd=work,
                              capture_output=True, text=True, env=ENV)
        seconds = time.perf_counter() - start
        files = len(list(Path(out).iterdir()))
    print(f"digest --out: {seconds:.1f} s for {files // 2} supervisors ({files} files), exit {proc.returncode}")
    server = SmtpServer().start()
    try:
        toml = work / "courtsync.toml"
        toml.write_text(toml.read_text() + server.toml())
        start = time.perf_counter()
        proc = subprocess.run([*courtsync(), "digest", "--as-of", AS_OF, "--send"], cwd=work, capture_output=True,
                              text=True, env=ENV)
        seconds = time.perf_counter() - start
        summary = [line for line in proc.stdout.splitlines() if line.startswith("queued")]
        print(f"digest --send: {seconds:.1f} s: {summary[0] if summary else proc.stderr[-300:]}; "
              f"the server received {len(server.received)}")
    finally:
        server.stop()
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
