"""Run courtsync with stderr (and optionally stdout) on a real pseudo-terminal, and see the screen it leaves."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
import threading
from dataclasses import dataclass
from pathlib import Path

import pyte

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class TerminalRun:
    code: int
    screen: list[str]     # the terminal's lines when the command has ended, trailing blanks cut
    terminal: bytes       # everything written to the terminal
    stdout: bytes         # what went to stdout when it was a pipe (b"" when it was the terminal)


def on_terminal(*args: str, stdout_on_terminal: bool, columns: int = 160, rows: int = 60,
                timeout: float = 60) -> TerminalRun:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(columns), "LINES": str(rows)}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen([sys.executable, "-m", "courtsync", *args], stdin=subprocess.DEVNULL,
                            stdout=slave if stdout_on_terminal else subprocess.PIPE, stderr=slave, env=env,
                            cwd=ROOT)
    os.close(slave)
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:   # EIO: every writer has closed the terminal
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    out = proc.stdout.read() if proc.stdout is not None else b""
    code = proc.wait(timeout=timeout)
    reader.join(timeout=timeout)
    os.close(master)
    if proc.stdout is not None:
        proc.stdout.close()
    raw = b"".join(chunks)
    screen = pyte.Screen(columns, rows)
    pyte.ByteStream(screen).feed(raw)
    lines = [line.rstrip() for line in screen.display]
    while lines and not lines[-1]:
        lines.pop()
    return TerminalRun(code, lines, raw, out)
