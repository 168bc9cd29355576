"""Court notices at state scale: letters for all 100 courts rendered to HTML, text and PDF.

    python benchmarks/bench_notices.py [--data benchmarks/data/state]
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import AS_OF, courtsync, synced_state, timed  # noqa: E402


def main() -> None:
    work = synced_state(__doc__.splitlines()[0], "notices-run")
    with tempfile.TemporaryDirectory() as out:
        seconds, proc = timed([*courtsync(), "notices", "--as-of", AS_OF, "--from", "2027-01-01", "--to",
                               "2027-06-30", "--out", out], work)
        pdfs = list(Path(out).glob("*.pdf"))
        pages = sum(p.read_bytes().count(b"/Type /Page\n") + p.read_bytes().count(b"/Type /Page ") for p in pdfs)
    print(f"notices --out: {seconds:.1f} s for {len(pdfs)} courts (PDF, HTML and text each), exit {proc.returncode}"
          + (f"; {pages} PDF pages" if pages else ""))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
