"""The status API the vendor's cloud pulls and technicians `curl` on the box.

aiohttp's web server inside the daemon's event loop (`AppRunner`, no signal handlers
of its own), bound to `status.listen` (loopback by default; anything else needs a
token and TLS, checked by the config and again here). Endpoints (openapi.yaml):

    /livez, /healthz           the loop answers and its tasks are alive (never PBX/modem)
    /readyz[?verbose]          config, store writable, a PBX source connected, a sender
    /readyz/<check>            one check alone
    /v1/status                 the JSON document (schema ringback.status/1)
    /metrics                   Prometheus text format, `ringback_` prefix
    /v1/calls|messages|replies|cases  paged feeds with an opaque cursor (agent/status/paging.py)
    POST /v1/cases/{id}/claim|close|note|reply  work a case, write token only (case_writes.py)
    POST /hooks/<type>/<sender>  a provider's callbacks, signed by it (hooks.py): the
                               bearer token does not apply, the sender checks the signature

Authentication: bearer tokens (current and next, for rotation), re-read from their
files or credentials on every request so a rotation needs no restart, compared in
constant time against every configured token. A failure is a bare 401 with
`WWW-Authenticate` and an empty body, whatever the path (an unknown path does not
tell that it is unknown). `/livez` and `/healthz` alone are open, and only on
loopback. With no token at all the API is open, which the config allows on loopback
only. If a token source is configured but cannot be read, every request is refused.
A write token (`status.write_token`) reads too; the others cannot write (403).

Bad input (a malformed cursor, a limit out of range, an unknown path) is a 4xx with
a JSON `{"error": code, "detail": text}` and counted by reason in
`ringback_status_api_rejected_total`; none of it is logged, and a request aiohttp
cannot even parse is logged at most once a minute, with how many came since. Slow or
idle clients are closed after `IDLE_SECONDS`; bodies are capped; DB-backed handlers
run a few at a time.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import ssl
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from agent.config.settings import StatusConfig
from agent.errors import ListenError
from agent.model import Counters
from agent.status import hooks
from agent.status.case_writes import ACTIONS, answer, apply, body_of
from agent.status.document import readiness, status_document
from agent.status.metrics import render_metrics
from agent.status.paging import FEEDS, PageError, parse_limit, read_page
from agent.status.port_holder import cannot_listen
from agent.status.view import StatusView

log = logging.getLogger(__name__)
http_log = logging.getLogger(__name__ + ".http")

OPEN_ON_LOOPBACK = frozenset({"/livez", "/healthz"})
IDLE_SECONDS = 15.0
MAX_BODY_BYTES = 16 * 1024
MAX_QUERY_CHARS = 1024
DB_HANDLERS_AT_ONCE = 4
WARN_EVERY_SECONDS = 60.0  # at most one log line per interval about malformed requests
REJECT_REASONS = (
    "unauthorized",
    "bad_cursor",
    "bad_limit",
    "cursor_ahead",
    "not_found",
    "method_not_allowed",
    "bad_request",
    "starting",
    "forbidden",
    "bad_resolution",
    "conflict",
    "webhook_forged",
)
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="ringback"'}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class StatusServer:
    """Owned by the daemon: `start()` before READY, `stop()` on the way out."""

    def __init__(self, daemon: StatusView) -> None:
        self.daemon = daemon
        self._runner: web.AppRunner | None = None
        self.port: int | None = None
        self.rejected = Counters(*REJECT_REASONS)
        self._db_slots = asyncio.Semaphore(DB_HANDLERS_AT_ONCE)
        self._token_required = False
        self._last_warning: float | None = None
        self._quiet = 0  # malformed requests counted but not logged since the last line

    def _app(self) -> web.Application:
        app = web.Application(middlewares=[self._guard], client_max_size=MAX_BODY_BYTES)
        app.router.add_get("/livez", self._livez)
        app.router.add_get("/healthz", self._livez)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_get("/readyz/{check}", self._readyz_one)
        app.router.add_get("/v1/status", self._status)
        app.router.add_get("/metrics", self._metrics)
        for name in FEEDS:
            app.router.add_get(f"/v1/{name}", self._feed)
        app.router.add_post(r"/v1/cases/{id:\d{1,18}}/{action}", self._case_write)
        app.router.add_post(r"/hooks/{type:[a-z]{1,20}}/{name}", self._hook)
        return app

    async def start(self) -> None:
        """Listen on `status.listen`; `ListenError` (one line naming the address and,
        when known, who holds it) if it cannot: the daemon's start then fails."""
        config = self.daemon.loaded.settings.status
        self._token_required = bool(_configured_tokens(config))
        try:
            tls = _tls(config)
        except (OSError, ssl.SSLError) as err:
            raise ListenError(
                f"status API cannot listen on {config.listen}: "
                f"cannot load its TLS certificate or key: {err}"
            ) from None
        if not config.loopback and (not self._token_required or tls is None):
            raise ListenError(
                f"status API refused to listen on {config.listen} without token and TLS"
            )
        http_log.addFilter(self._one_line)
        self._runner = web.AppRunner(
            self._app(),
            handle_signals=False,
            access_log=None,
            keepalive_timeout=IDLE_SECONDS,
            logger=http_log,
        )
        await self._runner.setup()
        site = web.TCPSite(
            self._runner, config.host, config.port, ssl_context=tls, reuse_address=True
        )
        try:
            await site.start()
        except OSError as err:
            await self.stop()
            why = cannot_listen("status API", config.listen, config.port, err)
            raise ListenError(why) from None
        sockets = getattr(site._server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else config.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        http_log.removeFilter(self._one_line)

    def _one_line(self, record: logging.LogRecord) -> bool:
        """aiohttp logs a malformed request (a header too long, garbage) with a
        traceback at ERROR: count it, and make it one WARNING line naming the error
        class (its text may quote the client's bytes, a token included), at most one
        per `WARN_EVERY_SECONDS` saying how many more came since (any local process
        could otherwise flood the journal)."""
        if not (record.exc_info and record.exc_info[1] is not None):
            return True
        self.rejected.inc("bad_request")
        now = time.monotonic()
        if self._last_warning is not None and now - self._last_warning < WARN_EVERY_SECONDS:
            self._quiet += 1
            return False
        more, self._quiet, self._last_warning = self._quiet, 0, now
        suffix = f" ({more} more since the last report)" if more else ""
        record.msg, record.args = (
            "bad HTTP request refused: %s%s",
            (type(record.exc_info[1]).__name__, suffix),
        )
        record.exc_info, record.exc_text = None, None
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True

    # --- the guard: auth first, then bad input mapped to JSON 4xx -------------------

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        config = self.daemon.loaded.settings.status
        signed = request.path.startswith(hooks.HOOKS_PREFIX)  # the provider signs these
        if not signed and not _authorised(request, config, self._token_required):
            self.rejected.inc("unauthorized")
            return web.Response(status=401, headers=_CHALLENGE)
        if len(request.query_string) > MAX_QUERY_CHARS:
            return self._reject(400, "bad_request", "query string too long")
        try:
            return await handler(request)
        except PageError as err:
            return self._reject(err.status, err.reason, err.detail)
        except web.HTTPNotFound:
            return self._reject(404, "not_found", "no such endpoint (see openapi.yaml)")
        except web.HTTPMethodNotAllowed as err:
            response = self._reject(405, "method_not_allowed", "only GET is served")
            response.headers["Allow"] = ", ".join(sorted(err.allowed_methods))
            return response

    def _reject(self, status: int, reason: str, detail: str) -> web.Response:
        self.rejected.inc(reason)
        return web.json_response({"error": reason, "detail": detail}, status=status)

    # --- handlers ----------------------------------------------------------------------

    async def _livez(self, request: web.Request) -> web.Response:
        runtime = self.daemon.runtime
        alive = runtime is not None and runtime.loops_alive()
        return web.Response(status=200 if alive else 503, text="ok\n" if alive else "stuck\n")

    async def _readyz(self, request: web.Request) -> web.Response:
        _only_params(request, "verbose")
        async with self._db_slots:
            checks = await readiness(self.daemon)
        ready = all(ok for ok, _ in checks.values())
        text = "ok\n" if ready else "not ready\n"
        if "verbose" in request.query:
            text = "".join(
                f"[{'+' if ok else '-'}]{name} {'ok' if ok else 'failed: ' + why}\n"
                for name, (ok, why) in checks.items()
            )
        return web.Response(status=200 if ready else 503, text=text)

    async def _readyz_one(self, request: web.Request) -> web.Response:
        async with self._db_slots:
            checks = await readiness(self.daemon)
        name = request.match_info["check"]
        if name not in checks:
            raise web.HTTPNotFound()
        ok, why = checks[name]
        return web.Response(status=200 if ok else 503, text="ok\n" if ok else f"{why}\n")

    async def _status(self, request: web.Request) -> web.Response:
        async with self._db_slots:
            doc = await status_document(self.daemon)
        return web.json_response(doc)

    async def _metrics(self, request: web.Request) -> web.Response:
        async with self._db_slots:
            body = await render_metrics(self.daemon, self.rejected.snapshot())
        return web.Response(
            body=body.encode(), headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"}
        )

    async def _feed(self, request: web.Request) -> web.Response:
        feed = FEEDS[request.path.rsplit("/", 1)[1]]
        _only_params(request, "cursor", "limit")
        limit = parse_limit(request.query.get("limit"))
        cursor = request.query.get("cursor")
        store = self.daemon.store
        if store is None:
            return self._reject(503, "starting", "the store is not open yet")
        status = self.daemon.loaded.settings.status
        async with self._db_slots:
            page = await read_page(
                store, feed, cursor, limit, self.daemon.clock(), status.expose_full_numbers
            )
        return web.json_response(page.json())

    async def _hook(self, request: web.Request) -> web.Response:
        status, reason = await hooks.handle(self.daemon, request)
        if reason is not None:
            self.rejected.inc(reason)
        return hooks.answer(status)

    async def _case_write(self, request: web.Request) -> web.Response:
        action = request.match_info["action"]
        if action not in ACTIONS:
            raise web.HTTPNotFound()
        _only_params(request)
        config = self.daemon.loaded.settings.status
        if not _may_write(request, config):
            return self._reject(
                403, "forbidden", "this token reads only (writes need a write token)"
            )
        store = self.daemon.store
        if store is None:
            return self._reject(503, "starting", "the store is not open yet")
        data = await body_of(request)
        if action == "reply":
            return await self._reply(int(request.match_info["id"]), data)
        async with self._db_slots:
            item = await apply(
                store,
                action,
                int(request.match_info["id"]),
                data,
                self.daemon.clock(),
                config.expose_full_numbers,
            )
        return web.json_response(item)

    async def _reply(self, case_id: int, data: dict[str, Any]) -> web.Response:
        """The answer queued (201), and the dispatcher woken for it."""
        store = self.daemon.store
        assert store is not None
        settings = self.daemon.loaded.settings
        async with self._db_slots:
            item = await answer(
                store,
                settings,
                case_id,
                data,
                self.daemon.clock(),
                settings.status.expose_full_numbers,
            )
        runtime = self.daemon.runtime
        if runtime is not None and runtime.dispatcher is not None:
            runtime.dispatcher.wake()
        return web.json_response(item, status=201)


def _only_params(request: web.Request, *known: str) -> None:
    """Unknown or repeated query parameters are refused: a typo such as `?curser=`
    would otherwise restart a feed from the beginning without a word."""
    names = [name for name, _ in request.query.items()]
    for name in names:
        if name not in known:
            raise PageError("bad_request", f"unknown query parameter (expected {', '.join(known)})")
    if len(names) != len(set(names)):
        raise PageError("bad_request", "a query parameter is repeated")


def _configured_tokens(config: StatusConfig) -> list[bytes] | None:
    """The tokens to accept: [] when none is configured (open, loopback only), None
    when one is configured but cannot be read now (refuse everything)."""
    expects = any(
        v is not None
        for v in (
            config.token,
            config.token_file,
            config.token_next,
            config.token_next_file,
            config.write_token,
            config.write_token_file,
        )
    )
    try:
        found = [*config.tokens(), *config.write_tokens()]
        tokens = [t.get_secret_value().encode() for t in found]
    except (OSError, UnicodeError):
        return None
    if expects and not tokens:
        return None
    return tokens


def _authorised(request: web.Request, config: StatusConfig, required: bool) -> bool:
    """`required`: a token was configured when the server started; losing it later
    (file removed, reload without one) closes the API rather than opening it."""
    if request.path in OPEN_ON_LOOPBACK and config.loopback:
        return True
    tokens = _configured_tokens(config)
    if tokens is None:
        return False
    if not tokens:
        return config.loopback and not required
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    given = presented.strip().encode("utf-8", "replace")
    matched = False
    for expected in tokens:  # no early exit: the same work whichever token matches
        matched |= hmac.compare_digest(given, expected)
    return scheme.lower() == "bearer" and matched


def _may_write(request: web.Request, config: StatusConfig) -> bool:
    """The request carries a write token (there is no open writing)."""
    try:
        tokens = [t.get_secret_value().encode() for t in config.write_tokens()]
    except (OSError, UnicodeError):
        return False
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    given = presented.strip().encode("utf-8", "replace")
    matched = False
    for expected in tokens:
        matched |= hmac.compare_digest(given, expected)
    return scheme.lower() == "bearer" and matched


def _tls(config: StatusConfig) -> ssl.SSLContext | None:
    return server_tls(config.tls_cert_file, config.tls_key_file)


def server_tls(cert: Path | None, key: Path | None) -> ssl.SSLContext | None:
    """A TLS 1.2+ server context from certificate and key files, or None without them
    (the status API's and the desk's)."""
    if cert is None or key is None:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context
