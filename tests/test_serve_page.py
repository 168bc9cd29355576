"""The check page `/` in a real headless Chromium and over HTTP: a worker fills the form from the keyboard and
reads the verdict at phone width with nothing wider than the screen; every field has a label; a supervisor sees
the team's conflicts, a worker only their own; a liaison sees each court's letters; no script, all text escaped."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from tests.browser import CHROMIUM, fill_and_submit
from tests.conftest import AS_OF, Run
from tests.test_serve import _start

CONFLICT_DAY = "2026-12-08"   # w05 has a hearing during the cook-regional session that day (the example)
USER = "X-Forwarded-Email"


def _serve(example_dir: Path, run: Callable[..., Run], server: str) -> Iterator[str]:
    config = example_dir / "courtsync.toml"
    config.write_text(config.read_text() + f"\n[server]\n{server}\nrefresh = \"0s\"\n")   # the copies for AS_OF
    assert run("sync", "--config", config, "--as-of", AS_OF.isoformat()).exit_code == 0
    proc, base = _start(config)
    yield base
    proc.terminate()
    log = proc.communicate(timeout=10)[0].decode()
    assert "Traceback" not in log, log
    assert "@agency.example" not in log, "no log line names who asked"


@pytest.fixture
def demo(example_dir: Path, run: Callable[..., Run]) -> Iterator[str]:
    yield from _serve(example_dir, run, 'auth = "none"')


@pytest.fixture
def signed(example_dir: Path, run: Callable[..., Run]) -> Iterator[str]:
    yield from _serve(example_dir, run, 'auth = "header"\ntrusted_proxies = ["127.0.0.1"]')


class Fields(HTMLParser):
    """The form's fields, the labels' targets, and every script or inline handler."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[str] = []
        self.labelled: set[str] = set()
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in ("input", "select", "textarea") and a.get("type") != "hidden":
            self.fields.append(a.get("id") or "?")
        if tag == "label" and a.get("for"):
            self.labelled.add(str(a["for"]))
        self.scripts += tag == "script" or any(k.startswith("on") for k in a)


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_a_worker_checks_a_date_from_the_keyboard_on_a_phone(demo: str, tmp_path: Path) -> None:
    answer = fill_and_submit(f"{demo}/", tmp_path / "profile", {"worker": "w05", "date": CONFLICT_DAY}, ".verdict")
    assert answer.text == "Not free", answer
    assert f"worker=w05&date={CONFLICT_DAY}" in answer.url
    assert (answer.look.width, answer.look.scroll_width, answer.look.overflowing) == (390, 390, [])
    (tmp_path / "check-page-390.png").write_bytes(answer.look.screenshot)
    assert answer.look.screenshot.startswith(b"\x89PNG")


def test_every_field_has_a_label_and_the_page_has_no_script(demo: str) -> None:
    page = httpx.get(f"{demo}/", params={"worker": "w05", "date": CONFLICT_DAY})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    found = Fields()
    found.feed(page.text)
    assert found.fields == ["worker", "date", "time"] and set(found.fields) <= found.labelled
    assert found.scripts == 0
    policy = page.headers["content-security-policy"]
    assert "script-src" not in policy and "default-src 'none'" in policy and "'unsafe-inline'" not in policy
    assert "case 2026-JA-001455" in page.text and "Sofia Castillo" in page.text
    css = httpx.get(f"{demo}/static/courtsync.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


def test_what_the_page_shows_is_escaped(demo: str) -> None:
    page = httpx.get(f"{demo}/", params={"worker": "<script>alert(1)</script>", "date": CONFLICT_DAY})
    assert page.status_code == 404
    assert "<script>" not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


def test_a_supervisor_sees_the_team_and_a_worker_only_themselves(signed: str) -> None:
    boss = httpx.get(f"{signed}/", headers={USER: "andre.whitfield@agency.example"})
    assert boss.status_code == 200
    assert "Your team&#39;s conflicts" in boss.text or "Your team's conflicts" in boss.text
    assert "Sofia Castillo (w05)" in boss.text and "case 2026-JA-001455" in boss.text
    options = re.findall(r'<option value="([^"]+)"', boss.text)
    assert options[0] == "s01" and "w05" in options and "a001" not in options
    worker = httpx.get(f"{signed}/", headers={USER: "sofia.castillo@agency.example"},
                       params={"worker": "w04", "date": CONFLICT_DAY})
    assert worker.status_code == 403 and "Marcus Bell" not in worker.text
    own = httpx.get(f"{signed}/", headers={USER: "SOFIA.CASTILLO@agency.example"},
                    params={"worker": "w05", "date": CONFLICT_DAY})
    assert own.status_code == 200 and "Not free" in own.text and "team" not in own.text.lower()


def test_a_liaison_sees_each_court_and_a_stranger_is_refused(signed: str) -> None:
    liaison = httpx.get(f"{signed}/", headers={USER: "dana.reyes@agency.example"})
    assert liaison.status_code == 200 and "Your courts" in liaison.text
    assert "never told" in liaison.text
    for headers in ({}, {USER: "nobody@elsewhere.example"}):
        refused = httpx.get(f"{signed}/", headers=headers)
        assert refused.status_code in (401, 403) and "Sofia" not in refused.text
