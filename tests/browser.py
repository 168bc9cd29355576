"""Debian's headless Chromium driven over its DevTools pipe: a page as a phone (or a desktop) shows it.

`--window-size` cannot go below 500 px in headless Chromium, so a phone's width is set with the DevTools
protocol's device emulation (`mobile: true` also honours the page's viewport meta tag, as a phone does).
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHROMIUM = next((p for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser") if Path(p).exists()),
                shutil.which("chromium"))
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# Measured in the page: how wide the document is, and every element that reaches past the screen's edge.
MEASURE = """JSON.stringify({
  width: window.innerWidth,
  scrollWidth: document.documentElement.scrollWidth,
  overflowing: Array.from(document.querySelectorAll('body *'))
    .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
    .map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '')).slice(0, 10)
})"""


@dataclass(frozen=True)
class Look:
    width: int
    scroll_width: int
    overflowing: list[str]
    screenshot: bytes


class _Pipe:
    """Chromium reads commands on fd 3 and answers on fd 4, each message JSON ending in NUL."""

    def __init__(self, profile: Path) -> None:
        assert CHROMIUM is not None
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        # The child's fd 3 and 4 must be those two ends: move them there between fork and exec (by way of
        # numbers above 10, as either end may itself be 3 or 4).
        def fds() -> None:
            high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (to_chrome_r, from_chrome_w)]
            os.dup2(high[0], 3)
            os.dup2(high[1], 4)
        self.proc = subprocess.Popen([CHROMIUM, *FLAGS, "--remote-debugging-pipe", f"--user-data-dir={profile}",
                                      "about:blank"], preexec_fn=fds, pass_fds=(3, 4),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer = b""
        self._next = 0

    def _read(self) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            chunk = os.read(self._from_chrome, 65536)
            if not chunk:
                raise RuntimeError("Chromium closed its DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return dict(json.loads(message))

    def call(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        self._next += 1
        request: dict[str, Any] = {"id": self._next, "method": method, "params": params}
        if session:
            request["sessionId"] = session
        os.write(self._to_chrome, json.dumps(request).encode() + b"\0")
        while True:
            answer = self._read()
            if answer.get("id") == self._next:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return dict(answer.get("result", {}))

    def wait_for(self, event: str) -> None:
        while self._read().get("method") != event:
            pass

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, OSError):
            self.call("Browser.close")
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_chrome)
        os.close(self._from_chrome)


def _opened(pipe: _Pipe, url: str, width: int, height: int, mobile: bool) -> str:
    """A new tab `width` CSS pixels wide with `url` loaded: its DevTools session."""
    target = pipe.call("Target.createTarget", url="about:blank")["targetId"]
    session: str = pipe.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
    pipe.call("Emulation.setDeviceMetricsOverride", session, width=width, height=height, deviceScaleFactor=1,
              mobile=mobile)
    pipe.call("Page.enable", session)
    pipe.call("Page.navigate", session, url=url)
    pipe.wait_for("Page.loadEventFired")
    return session


def look_at(page: Path, profile: Path, width: int = 390, height: int = 844, mobile: bool = True) -> Look:
    """Open `page` at `width` CSS pixels, measure its overflow and take a full-page screenshot."""
    pipe = _Pipe(profile)
    try:
        session = _opened(pipe, page.as_uri(), width, height, mobile)
        measured = json.loads(pipe.call("Runtime.evaluate", session, expression=MEASURE,
                                        returnByValue=True)["result"]["value"])
        shot = pipe.call("Page.captureScreenshot", session, format="png", captureBeyondViewport=True)["data"]
    finally:
        pipe.close()
    return Look(width=measured["width"], scroll_width=measured["scrollWidth"],
                overflowing=measured["overflowing"], screenshot=base64.b64decode(shot))


@dataclass(frozen=True)
class Submitted:
    text: str          # what the element the test asked about says after the form was sent
    url: str           # where the form went
    look: Look


def fill_and_submit(url: str, profile: Path, values: dict[str, str], read: str, width: int = 390,
                    height: int = 844) -> Submitted:
    """Open `url` as a phone, put `values` in the form's fields (by id), send the form from the keyboard (the
    submit button focused, Enter pressed), and read the text of the `read` selector on the page that answers."""
    pipe = _Pipe(profile)
    try:
        session = _opened(pipe, url, width, height, mobile=True)
        for field, value in values.items():
            pipe.call("Runtime.evaluate", session, expression=f"document.getElementById({json.dumps(field)}).value"
                                                               f" = {json.dumps(value)}")
        pipe.call("Runtime.evaluate", session, expression="document.querySelector('button[type=submit]').focus()")
        for kind in ("rawKeyDown", "char", "keyUp"):
            pipe.call("Input.dispatchKeyEvent", session, type=kind, key="Enter", code="Enter",
                      windowsVirtualKeyCode=13, **({"text": "\r"} if kind == "char" else {}))
        pipe.wait_for("Page.loadEventFired")

        def value(expression: str) -> Any:
            return pipe.call("Runtime.evaluate", session, expression=expression, returnByValue=True)["result"]["value"]

        text = value(f"(document.querySelector({json.dumps(read)}) || {{}}).textContent || ''")
        where = value("location.href")
        measured = json.loads(value(MEASURE))
        shot = pipe.call("Page.captureScreenshot", session, format="png", captureBeyondViewport=True)["data"]
    finally:
        pipe.close()
    return Submitted(text=" ".join(str(text).split()), url=str(where),
                     look=Look(width=measured["width"], scroll_width=measured["scrollWidth"],
                               overflowing=measured["overflowing"], screenshot=base64.b64decode(shot)))
