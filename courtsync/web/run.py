"""Starting the web service: the configuration checked first (a broken one is a clean exit 2, before any
worker starts), then uvicorn with the application factory in each of its worker processes."""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
from pathlib import Path

from courtsync.config.schema import CONFIG_ENV, find_config_path, load_config
from courtsync.errors import UsageError


def loopback(host: str) -> bool:
    """Whether `host` (a name or an address) only ever means this machine."""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return False
    return bool(addresses) and all(ipaddress.ip_address(str(a).split("%", 1)[0]).is_loopback for a in addresses)


def serve(config_path: Path | None, host: str, port: int, workers: int) -> None:
    path = find_config_path(config_path).resolve()
    config = load_config(path)
    if config.server.auth == "none" and not loopback(host):
        raise UsageError(f"auth = \"none\" in [server] lets anyone who reaches the service see everything: it only "
                         f"listens on loopback, not on {host}.",
                         hint="Use --host 127.0.0.1 for a demo, or set auth = \"header\" behind the agency's sign-on "
                              "proxy (see the README, \"Running it for an agency\").")
    import uvicorn

    os.environ[CONFIG_ENV] = str(path)   # read by the application factory in each worker process
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # The direct peer is the client: X-Forwarded-For is not taken (server.trusted_proxies decides who may set the
    # user header); no access log, which would print query strings (calendar keys).
    uvicorn.run("courtsync.web.server:create_app", factory=True, host=host, port=port, workers=workers,
                proxy_headers=False, access_log=False, server_header=False, log_level="info",
                # longer than a reverse proxy keeps its idle upstream connections (nginx: 60 s), so the proxy
                # never sends a request on a connection this server is closing
                timeout_keep_alive=65)
