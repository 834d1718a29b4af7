"""`digest serve`: the web app (previews, the archive, one-click unsubscribe) on uvicorn."""

from __future__ import annotations

import ipaddress
import logging
import os
import signal
import socket

import click

from ..errors import ConfigError
from ..web import Flusher, Site, create_app
from .common import CONTEXT, config_option, get_config

log = logging.getLogger(__name__)

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@click.command(context_settings=CONTEXT)
@config_option
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to bind.")
@click.option(
    "--port", default=8025, show_default=True, type=click.IntRange(0, 65535), help="0: any free."
)
@click.option(
    "--proxy-headers",
    is_flag=True,
    help="Behind a reverse proxy: take the client's address and scheme from its "
    "X-Forwarded-For/-Proto headers (only from --forwarded-allow-ips).",
)
@click.option(
    "--forwarded-allow-ips",
    default="127.0.0.1",
    show_default=True,
    metavar="IPS",
    help="Comma-separated proxy addresses whose forwarded headers are believed.",
)
@click.option(
    "--flush-seconds",
    default=5.0,
    show_default=True,
    type=click.FloatRange(0, 3600),
    help="How long clicks gather before they are written into the list file together.",
)
def serve(
    host: str, port: int, proxy_headers: bool, forwarded_allow_ips: str, flush_seconds: float
) -> None:
    """Serve previews, the web version of sent issues and the unsubscribe page.

    Binds to 127.0.0.1 unless told otherwise; put a reverse proxy (Caddy, nginx) in front of
    it for the public links (docs/deploy.md). The unsubscribe links are checked with
    DIGEST_SECRET from the environment. Stops cleanly on Ctrl-C or SIGTERM, after writing the
    clicks it recorded into the list files.

    \b
    Examples:
      digest serve                      # http://127.0.0.1:8025/
      digest serve --port 9000
      digest serve --host 0.0.0.0 --proxy-headers --forwarded-allow-ips 10.0.0.5
    """
    import uvicorn

    config = get_config(click.get_current_context())
    secret = os.environ.get("DIGEST_SECRET", "")
    if not secret:
        log.warning(
            "DIGEST_SECRET is not set: unsubscribe links cannot be checked, so /unsubscribe "
            "refuses them all (previews and the archive work)"
        )
    site = Site(config, secret)
    app = create_app(site, Flusher(site, delay=flush_seconds))
    sock = _bind(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            proxy_headers=proxy_headers,
            forwarded_allow_ips=forwarded_allow_ips if proxy_headers else None,
            server_header=False,
            log_config=None,
            access_log=logging.getLogger().level <= logging.INFO,
            timeout_graceful_shutdown=10,
        )
    )
    logging.getLogger("uvicorn.access").addFilter(_no_query)
    click.echo(f"digest serve: http://{shown}:{bound_port}/ (Ctrl-C to stop)", err=True)
    stops: list[int] = []
    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then raises the signal again for the
    # handler it found: this one notes it, so the stop is a clean exit 0 with a last line.
    kept = {sig: signal.signal(sig, lambda s, _f: stops.append(s)) for sig in _STOP_SIGNALS}
    try:
        server.run(sockets=[sock])
    finally:
        for sig, handler in kept.items():
            signal.signal(sig, handler)
    click.echo("digest serve: stopped", err=True)


def _no_query(record: logging.LogRecord) -> bool:
    """The access log shows paths without their query: an unsubscribe link's query holds the
    reader's address and token."""
    args = record.args
    if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
        record.args = (*args[:2], args[2].split("?", 1)[0], *args[3:])
    return True


def _bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so the address printed is the one in use (also with
    --port 0)."""
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    except ValueError:
        family = socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio turns on TCP_NODELAY only for sockets that say TCP, and the
    # accepted ones copy this; without it every kept-alive answer waits ~40 ms for an ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"cannot listen on {host}:{port} ({exc.strerror or exc})",
            "Is another server using the port? Pick another with --port.",
        ) from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock
