"""The weekly digest at state scale: all supervisors' digests rendered and written, then rendered, queued
and delivered to a real SMTP server on loopback (aiosmtpd, from the test extra).

    python benchmarks/bench_digest.py [--data benchmarks/data/state]
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import AS_OF, HERE, courtsync, synced_state, timed  # noqa: E402

sys.path.insert(0, str(HERE.parent))


def main() -> None:
    from tests.smtp_server import SmtpServer

    work = synced_state(__doc__.splitlines()[0], "digest-run")
    with tempfile.TemporaryDirectory() as out:
        seconds, proc = timed([*courtsync(), "digest", "--as-of", AS_OF, "--out", out], work)
        files = len(list(Path(out).iterdir()))
    print(f"digest --out: {seconds:.1f} s for {files // 2} supervisors ({files} files), exit {proc.returncode}")
    server = SmtpServer().start()
    try:
        toml = work / "courtsync.toml"
        toml.write_text(toml.read_text() + server.toml())
        seconds, proc = timed([*courtsync(), "digest", "--as-of", AS_OF, "--send"], work)
        summary = [line for line in proc.stdout.splitlines() if line.startswith("queued")]
        print(f"digest --send: {seconds:.1f} s: {summary[0] if summary else proc.stderr[-300:]}; "
              f"the server received {len(server.received)}")
    finally:
        server.stop()
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
