"""The web service's command: serve."""
from __future__ import annotations

from pathlib import Path

import click

from courtsync.cli.base import cli, config_option, open_context


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


@cli.command("links")
@config_option
@click.option("--worker", "worker_id", metavar="ID", help="The worker's calendar (their protected sessions).")
@click.option("--collaborative", "collaborative_id", metavar="ID", help="A collaborative's sessions.")
@click.option("--court", "court_id", metavar="ID", help="The sessions of the staff before a court (for its clerk).")
def links_command(config_path: Path | None, worker_id: str | None, collaborative_id: str | None,
                  court_id: str | None) -> None:
    """Print the subscription link of a calendar the web service publishes, for the liaison to send. The link
    carries its own key: it opens that calendar only. Exit 2 for an unknown id or without [server] secret_env."""
    from courtsync.config import links
    from courtsync.errors import UsageError

    chosen = [(kind, ident) for kind, ident in (("worker", worker_id), ("collaborative", collaborative_id),
                                                 ("court", court_id)) if ident]
    if len(chosen) != 1:
        raise UsageError("Name one calendar: --worker ID, --collaborative ID or --court ID.")
    (kind, ident), = chosen
    ctx = open_context(config_path, None)
    {"worker": ctx.worker, "collaborative": ctx.collaborative, "court": ctx.court}[kind](ident)   # exists?
    click.echo(links.calendar_link(ctx.config, kind, ident))   # type: ignore[arg-type]
    if not ctx.config.server.base_url:
        click.echo(f"courtsync: note: [server] base_url is not set: the link names {links.DEMO_BASE}, where "
                   "`courtsync serve` listens on this machine.", err=True)
