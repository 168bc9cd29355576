"""The web service's command: serve."""
from __future__ import annotations

from pathlib import Path

import click

from courtsync.cli.base import cli, config_option


@cli.command("serve")
@config_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True, help="Port to listen on.")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Server processes (each answers requests; one store for all).")
def serve_command(config_path: Path | None, host: str, port: int, workers: int) -> None:
    """Run the web service: the check page, /api/check, /api/scan, /api/events, /api/dates, /healthz, /readyz.
    Exit 2 if the configuration is wrong, or auth = "none" with a host other than loopback."""
    from courtsync.web import run  # (starlette and uvicorn load only for this command)

    run.serve(config_path, host, port, workers)
