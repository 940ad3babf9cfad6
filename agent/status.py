"""The status API the vendor's cloud pulls and technicians `curl` on the box.

aiohttp's web server inside the daemon's event loop (`AppRunner`, no signal handlers
of its own), bound to `status.listen` (loopback by default). Endpoints:

    /livez, /healthz   the loop answers and its tasks are alive (never the PBX/modem)
    /readyz[?verbose]  config, store, a PBX source connected, a sender usable
    /v1/status         the JSON document (schema ringback.status/1)
    /metrics           Prometheus text format, `ringback_` prefix

Bearer tokens (current and next, for rotation) are compared in constant time against
every configured token; a failure is a bare 401 with `WWW-Authenticate`. Only
`/livez` may be open, and only when bound to loopback.
"""

from __future__ import annotations

import hmac
import logging
import ssl
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web

from agent.metrics import render_metrics
from agent.status_doc import readiness, status_document

if TYPE_CHECKING:
    from agent.daemon import Daemon

log = logging.getLogger(__name__)

OPEN_ON_LOOPBACK = frozenset({"/livez", "/healthz"})


class StatusServer:
    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    def _app(self) -> web.Application:
        app = web.Application(middlewares=[self._auth], client_max_size=64 * 1024)
        app.router.add_get("/livez", self._livez)
        app.router.add_get("/healthz", self._livez)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_get("/v1/status", self._status)
        app.router.add_get("/metrics", self._metrics)
        return app

    async def start(self) -> None:
        config = self.daemon.loaded.settings.status
        self._runner = web.AppRunner(self._app(), handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(
            self._runner, config.host, config.port, ssl_context=_tls(config), reuse_address=True
        )
        try:
            await site.start()
        except OSError as err:
            log.error("status API cannot listen on %s: %s", config.listen, err.strerror)
            return
        sockets = getattr(site._server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else config.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @web.middleware
    async def _auth(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        config = self.daemon.loaded.settings.status
        tokens = config.tokens()
        if request.path in OPEN_ON_LOOPBACK and config.loopback:
            return await handler(request)
        if not tokens and config.loopback:
            return await handler(request)
        presented = request.headers.get("Authorization", "")
        scheme, _, token = presented.partition(" ")
        matched = False
        for expected in tokens:  # no early exit: constant time across tokens
            matched |= hmac.compare_digest(token.encode(), expected.get_secret_value().encode())
        if scheme.lower() != "bearer" or not matched:
            return web.Response(status=401, headers={"WWW-Authenticate": 'Bearer realm="ringback"'})
        return await handler(request)

    async def _livez(self, request: web.Request) -> web.Response:
        runtime = self.daemon.runtime
        alive = runtime is not None and runtime.loops_alive()
        return web.Response(status=200 if alive else 503, text="ok\n" if alive else "stuck\n")

    async def _readyz(self, request: web.Request) -> web.Response:
        checks = await readiness(self.daemon)
        ready = all(ok for ok, _ in checks.values())
        text = "ok\n" if ready else "not ready\n"
        if "verbose" in request.query:
            text = "".join(
                f"[{'+' if ok else '-'}]{name} {'ok' if ok else 'failed: ' + why}\n"
                for name, (ok, why) in checks.items()
            )
        return web.Response(status=200 if ready else 503, text=text)

    async def _status(self, request: web.Request) -> web.Response:
        return web.json_response(await status_document(self.daemon))

    async def _metrics(self, request: web.Request) -> web.Response:
        body = await render_metrics(self.daemon)
        return web.Response(
            body=body.encode(), headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"}
        )


def _tls(config: object) -> ssl.SSLContext | None:
    cert = getattr(config, "tls_cert_file", None)
    key = getattr(config, "tls_key_file", None)
    if cert is None or key is None:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context
