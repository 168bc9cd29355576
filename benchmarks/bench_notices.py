"""Court notices at state scale: letters for all 100 courts rendered to HTML, text and PDF.

    python benchmarks/bench_notices.py [--data benchmarks/data/state]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import AS_OF, ENV, HERE, courtsync  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=HERE / "data" / "state")
    args = parser.parse_args()
    if not (args.data / "feeds").is_dir():
        subprocess.run([sys.executable, str(HERE / "generate.py"), str(args.data)], check=True)
    subprocess.run([*courtsync(), "sync", "--as-of", AS_OF], cwd=args.data, capture_output=True, env=ENV, check=False)
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        proc = subprocess.run([*courtsync(), "notices", "--as-of", AS_OF, "--from", "2027-01-01", "--to",
                               "2027-06-30", "--out", out], cwd=args.data, capture_output=True, text=True, env=ENV)
        seconds = time.perf_counter() - start
        pdfs = list(Path(out).glob("*.pdf"))
        pages = sum(p.read_bytes().count(b"/Type /Page\n") + p.read_bytes().count(b"/Type /Page ") for p in pdfs)
    print(f"notices --out: {seconds:.1f} s for {len(pdfs)} courts (PDF, HTML and text each), exit {proc.returncode}"
          + (f"; {pages} PDF pages" if pages else ""))


if __name__ == "__main__":
    main()
