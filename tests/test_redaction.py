"""Credentials or keys in an Exchange endpoint never reach output, errors or the store (as for feed URLs)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
import responses

from courtsync.calendars.ews import EwsSource
from courtsync.config.mail import ExchangeConfig
from courtsync.errors import SourceError
from tests.conftest import AS_OF, Run
from tests.mail_fixtures import availability_answer
from tests.store_sql import store_text
from tests.test_ews import BASE, WINDOW, fresh_protocols  # noqa: F401  (autouse: a password, no cached protocol)

Runner = Callable[..., Run]
SECRET_ENDPOINT = "https://svc:pw-in-url@mail.agency.example/EWS/Exchange.asmx?key=abc123"
SHOWN = "https://mail.agency.example/EWS/Exchange.asmx?…"
SECRETS = ("pw-in-url", "abc123", "svc:")


def exchange(status: int) -> Callable[[object], tuple[int, dict[str, str], str]]:
    def answer(request: object) -> tuple[int, dict[str, str], str]:
        if status != 200:
            return status, {"Content-Type": "text/html"}, "<html><body>401 Unauthorized</body></html>"
        body = request.body.decode() if isinstance(request.body, bytes) else request.body  # type: ignore[attr-defined]
        return 200, {"Content-Type": "text/xml; charset=utf-8"}, availability_answer(body, BASE, set())
    return answer


def leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


def test_an_exchange_endpoint_with_credentials_is_labelled_without_them() -> None:
    settings = ExchangeConfig(endpoint=SECRET_ENDPOINT, username="AGENCY\\svc-courtsync",  # type: ignore[arg-type]
                              password_env="COURTSYNC_EWS_PASSWORD", mode="free-busy")
    source = EwsSource("exchange", settings, {"a@agency.example": "w01"})
    assert source.label == SHOWN
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.POST, re.compile(r"https://.*mail\.agency\.example/.*"), callback=exchange(401))
        with pytest.raises(SourceError) as info:
            source.fetch(WINDOW, {})
    assert SHOWN in str(info.value) and not leaks(str(info.value))


def test_an_exchange_endpoint_with_credentials_is_never_printed_or_stored(example_dir: Path, run: Runner) -> None:
    toml = example_dir / "courtsync.toml"
    toml.write_text(toml.read_text() + f'\n[exchange]\nendpoint = "{SECRET_ENDPOINT}"\nusername = "svc-courtsync"\n'
                                       'password_env = "COURTSYNC_EWS_PASSWORD"\nmode = "free-busy"\n')
    cfg = ("--config", toml, "--as-of", AS_OF)
    seen = []
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.POST, re.compile(r"https://.*mail\.agency\.example/.*"), callback=exchange(200))
        good = run("sync", *cfg)
        seen.append(good.stdout + good.stderr)
        assert good.exit_code == 0, good.stdout + good.stderr
        assert SHOWN in good.stdout
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.POST, re.compile(r"https://.*mail\.agency\.example/.*"), callback=exchange(401))
        failed = run("sync", *cfg, "--source", "exchange")
        assert failed.exit_code == 3 and SHOWN in failed.stdout
        seen.append(failed.stdout + failed.stderr)
        for command in (("events", "--format", "json"), ("check", "--worker", "w01", "--format", "json"),
                        ("scan", "--format", "json")):
            result = run(*command, *cfg, "--offline")
            seen.append(result.stdout + result.stderr)
            assert SHOWN in result.stdout
    stored = store_text(example_dir)   # the records and the calendar cache
    assert SHOWN in stored
    assert {n: leaks(text) for n, text in enumerate([*seen, stored])} == {n: [] for n in range(len(seen) + 1)}
