"""The desk's web server: login, the board, live updates, logout.

Routes (all under `/desk/`): `GET /desk/` (the login form until a session exists,
then the board), `POST /desk/login`, `POST /desk/logout`, `GET /desk/board` (the
board's list alone, for live updates), `GET /desk/events` (server-sent events: one
`change` whenever the store changes), `GET /desk/static/...`. Every POST needs the
session's CSRF token (the login form its own, in a short-lived cookie): 403
otherwise. An expired session sends the browser to the login form and back to the
page it was on. Security headers on every page (no framing, no sniffing, a strict
Content-Security-Policy allowing only our own script and style).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import sqlite3
import ssl
import time
from collections.abc import Awaitable, Callable
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from aiohttp import web
from jinja2 import Environment, PackageLoader, select_autoescape

from agent.cases.staff_words import readable
from agent.config.desk import DeskConfig, DeskUser
from agent.desk.actions import ActionRefused, act
from agent.desk.auth import COOKIE, Session, Sessions, Throttle, read_hashes, same, verify
from agent.desk.board import board_rows, case_page
from agent.desk.today import today
from agent.desk.words import word
from agent.errors import ListenError
from agent.model import STAFF_RESOLUTIONS, Counters
from agent.plural import singular
from agent.report.output import site_report
from agent.report.weekly import to_date
from agent.status.port_holder import cannot_listen
from agent.status.server import server_tls
from agent.status.view import StatusView

log = logging.getLogger(__name__)

LOGIN_COOKIE = "ringback_login"
EVENT_POLL_SECONDS = 1.0
RESOLUTIONS = tuple(r.value for r in STAFF_RESOLUTIONS)
ADDRESS_FACTOR = 4
FAILED_LOGIN_DELAY = 1.0  # on top of the hash: a wrong password is slow
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "Cache-Control": "no-store",
}


class DeskServer:
    """Owned by the daemon: `start()` after READY when `desk.listen` is set."""

    def __init__(self, daemon: StatusView, config_path: Path | None) -> None:
        self.daemon = daemon
        self.config_path = config_path
        self.sessions = Sessions(self.config)
        window = self.config.lockout_minutes * 60
        self.throttle = Throttle(self.config.login_attempts, window)
        # One address may be a whole dealership behind its router: more room there.
        self.address_throttle = Throttle(self.config.login_attempts * ADDRESS_FACTOR, window)
        self.counters = Counters("logins", "login_failures", "lockouts", "csrf_refused")
        self.port: int | None = None
        self._runner: web.AppRunner | None = None
        self._tls = False
        self._env = Environment(
            loader=PackageLoader("agent.desk", "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._env.filters["phone"] = readable  # +1 514-555-0123; links keep the E.164

    @property
    def config(self) -> DeskConfig:
        return self.daemon.loaded.settings.desk

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._headers], client_max_size=64 * 1024)
        app.router.add_get("/desk", self._to_desk)
        app.router.add_get("/desk/", self._home)
        app.router.add_post("/desk/login", self._login)
        app.router.add_post("/desk/logout", self._logout)
        app.router.add_get("/desk/board", self._board_part)
        app.router.add_get("/desk/events", self._events)
        app.router.add_get("/desk/static/{name}", self._static)
        app.router.add_get(r"/desk/cases/{case_id:\d+}", self._case)
        app.router.add_get("/desk/today", self._today)
        app.router.add_get("/desk/report", self._report)
        app.router.add_post(r"/desk/cases/{case_id:\d+}/{action}", self._act)
        return app

    async def start(self) -> None:
        """Listen on `desk.listen`; `ListenError` (one line) if it cannot."""
        config = self.config
        if config.listen is None:
            return
        try:
            tls = server_tls(config.tls_cert_file, config.tls_key_file)
        except (OSError, ssl.SSLError) as err:
            raise ListenError(
                f"desk cannot listen on {config.listen}: "
                f"cannot load its TLS certificate or key: {err}"
            ) from None
        self._tls = tls is not None
        self._runner = web.AppRunner(self.app(), handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, config.host, config.port, ssl_context=tls)
        try:
            await site.start()
        except OSError as err:
            await self._runner.cleanup()
            self._runner = None
            raise ListenError(cannot_listen("desk", config.listen, config.port, err)) from None
        sockets = getattr(site._server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else config.port
        scheme = "https" if tls else "http"
        log.info("desk on %s://%s:%s/desk/", scheme, config.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- middleware and helpers --------------------------------------------------------

    @web.middleware
    async def _headers(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        for key, value in HEADERS.items():
            response.headers.setdefault(key, value)
        return response

    def _session(self, request: web.Request) -> tuple[Session, DeskUser] | None:
        session = self.sessions.get(request.cookies.get(COOKIE))
        if session is None:
            return None
        user = self.config.user(session.user)
        return (session, user) if user is not None else None

    def _language(self, user: DeskUser | None) -> str:
        if user is not None and user.language:
            return user.language
        return self.daemon.loaded.settings.departments.language

    def render(self, name: str, language: str, **data: Any) -> str:
        """One of the desk's templates, in `language` (what every page is made of)."""
        return self._env.get_template(name).render(
            lang=language,
            w=lambda key, **kw: word(key, language, **kw),
            singular=lambda n: singular(n, language),
            site=self.daemon.loaded.settings.site.name,
            **data,
        )

    def _page(self, name: str, language: str, **data: Any) -> web.Response:
        html = self.render(name, language, **data)
        return web.Response(text=html, content_type="text/html", charset="utf-8")

    def _login_form(
        self, request: web.Request, error: str | None = None, status: int = 200
    ) -> web.Response:
        token = secrets.token_urlsafe(24)
        target = _safe_next(request.query.get("next") or "")
        response = self._page(
            "login.html.j2",
            self._language(None),
            csrf=token,
            next=target,
            error=error,
        )
        response.set_status(status)
        response.set_cookie(
            LOGIN_COOKIE,
            token,
            max_age=900,
            httponly=True,
            samesite="Strict",
            secure=self._tls,
            path="/desk/",
        )
        return response

    # --- handlers ----------------------------------------------------------------------

    async def _to_desk(self, request: web.Request) -> web.Response:
        raise web.HTTPFound("/desk/")

    async def _home(self, request: web.Request) -> web.Response:
        found = self._session(request)
        if found is None:
            return self._login_form(request)
        session, user = found
        rows = await board_rows(self.daemon, user, self._language(user))
        return self._page(
            "board.html.j2",
            self._language(user),
            user=user,
            csrf=session.csrf,
            rows=rows,
        )

    async def _board_part(self, request: web.Request) -> web.Response:
        found = self._session(request)
        if found is None:
            return web.Response(status=401, text="session expired")
        _, user = found
        rows = await board_rows(self.daemon, user, self._language(user))
        return self._page("board_rows.html.j2", self._language(user), rows=rows)

    async def _login(self, request: web.Request) -> web.Response:
        form = await request.post()
        sent = str(form.get("csrf", ""))
        expected = request.cookies.get(LOGIN_COOKIE, "")
        if not sent or not expected or not same(sent, expected):
            self.counters.inc("csrf_refused")
            return self._login_form(request, word("csrf", self._language(None)), status=403)
        name = str(form.get("name", "")).strip().lower()[:64]
        password = str(form.get("password", ""))[:1024]
        address = request.remote or "?"
        now = time.monotonic()
        if self.throttle.locked(name, now) or self.address_throttle.locked(address, now):
            self.counters.inc("lockouts")
            await asyncio.sleep(FAILED_LOGIN_DELAY)
            return self._login_form(request, word("locked", self._language(None)), status=429)
        user = self.config.user(name)
        hashes = await asyncio.to_thread(read_hashes, self.config_path)
        good = await asyncio.to_thread(verify, hashes, name, password)
        if not good or user is None:
            self.throttle.fail(name, now)
            self.address_throttle.fail(address, now)
            self.counters.inc("login_failures")
            log.warning(
                "desk: a login failed (%d failures for that name recently)",
                len(self.throttle.failures.get(name, [])),
            )
            await asyncio.sleep(FAILED_LOGIN_DELAY)
            return self._login_form(request, word("wrong", self._language(None)), status=401)
        self.throttle.clear(name)
        token, _ = self.sessions.open(user)
        self.counters.inc("logins")
        log.info("desk: %s logged in", user.name)
        target = _safe_next(str(form.get("next", ""))) or "/desk/"
        response = web.HTTPSeeOther(target)
        response.set_cookie(
            COOKIE, token, httponly=True, samesite="Strict", secure=self._tls, path="/desk/"
        )
        response.del_cookie(LOGIN_COOKIE, path="/desk/")
        raise response

    async def _logout(self, request: web.Request) -> web.Response:
        found = self._session(request)
        form = await request.post()
        if found is not None:
            session, user = found
            if not same(str(form.get("csrf", "")), session.csrf):
                self.counters.inc("csrf_refused")
                return web.Response(status=403, text=word("csrf", self._language(user)))
            self.sessions.close(request.cookies.get(COOKIE))
            log.info("desk: %s logged out", user.name)
        response = web.HTTPSeeOther("/desk/")
        response.del_cookie(COOKIE, path="/desk/")
        raise response

    async def _case(self, request: web.Request) -> web.Response:
        found = self._session(request)
        if found is None:
            raise web.HTTPFound("/desk/?next=" + quote(request.path, safe="/"))
        session, user = found
        return await self._case_page(
            session,
            user,
            int(request.match_info["case_id"]),
            message=request.query.get("done", ""),
            error=request.query.get("error", ""),
        )

    async def _case_page(
        self,
        session: Session,
        user: DeskUser,
        case_id: int,
        *,
        message: str = "",
        error: str = "",
        draft: str = "",
        status: int = 200,
    ) -> web.Response:
        """The case page, with a confirmation or an error, and the reply the user was
        writing (kept when the answer was refused)."""
        language = self._language(user)
        page = await case_page(self.daemon, user, case_id, language)
        if page is None:  # unknown, or another department's: the same answer
            missing = self._page("missing.html.j2", language, user=user, csrf=session.csrf)
            missing.set_status(404)
            return missing
        row, history = page
        response = self._page(
            "case.html.j2",
            language,
            user=user,
            csrf=session.csrf,
            case=row,
            history=history,
            message=message,
            error=error,
            draft=draft,
            resolutions=RESOLUTIONS,
        )
        response.set_status(status)
        return response

    async def _today(self, request: web.Request) -> web.Response:
        found = self._session(request)
        if found is None:
            raise web.HTTPFound("/desk/?next=/desk/today")
        session, user = found
        if user.role == "staff":
            raise web.HTTPForbidden(text=word("managers_only", self._language(user)))
        departments = await today(self.daemon, user)
        return self._page(
            "today.html.j2",
            self._language(user),
            user=user,
            csrf=session.csrf,
            departments=departments,
        )

    async def _report(self, request: web.Request) -> web.Response:
        """The managers' report page: the weekly e-mail's eight full weeks and this
        week so far, in the manager's language."""
        found = self._session(request)
        if found is None:
            raise web.HTTPFound("/desk/?next=/desk/report")
        _, user = found
        if user.role == "staff":
            raise web.HTTPForbidden(text=word("managers_only", self._language(user)))
        html = await asyncio.to_thread(self._report_html, self._language(user))
        response = web.Response(text=html, content_type="text/html", charset="utf-8")
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"
        )
        return response

    def _report_html(self, language: str) -> str:
        settings = self.daemon.loaded.settings
        since, until = to_date(self.daemon.clock().astimezone(settings.site.tz).date())
        path = settings.storage.path
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        from agent.report.html import render_html  # as `render` imports it: when asked

        links = [
            ("/desk/", word("back_to_desk", language)),
            ("/desk/today", word("today", language)),
        ]
        try:
            return render_html(site_report(conn, settings, since, until, language=language), links)
        finally:
            conn.close()

    async def _act(self, request: web.Request) -> web.Response:
        case_id = int(request.match_info["case_id"])
        found = self._session(request)
        if found is None:
            raise web.HTTPSeeOther(f"/desk/?next=/desk/cases/{case_id}")
        session, user = found
        form = await request.post()
        if not same(str(form.get("csrf", "")), session.csrf):
            self.counters.inc("csrf_refused")
            return web.Response(status=403, text=word("csrf", self._language(user)))
        language = self._language(user)
        fields = {k: str(v)[:2000] for k, v in form.items() if k != "csrf"}
        try:
            done = await act(
                self.daemon, user, case_id, request.match_info["action"], fields, language
            )
        except ActionRefused as err:
            if err.status == 404:
                raise web.HTTPNotFound() from None
            if request.match_info["action"] == "reply":
                # the page itself, answering 409/422 with the reason, the words kept
                return await self._case_page(
                    session,
                    user,
                    case_id,
                    error=err.message,
                    draft=fields.get("text", ""),
                    status=err.status,
                )
            raise web.HTTPSeeOther(f"/desk/cases/{case_id}?error=" + quote(err.message)) from None
        raise web.HTTPSeeOther(f"/desk/cases/{case_id}?done=" + quote(done))

    async def _events(self, request: web.Request) -> web.StreamResponse:
        """One `change` event whenever the store's data changes; a comment every 15 s
        keeps proxies from closing the stream; it ends with the session."""
        if self._session(request) is None:
            return web.Response(status=401, text="session expired")
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"}
        )
        await response.prepare(request)
        last = await self._version()
        quiet = 0.0
        with contextlib.suppress(ConnectionResetError, asyncio.CancelledError):
            while self._session(request) is not None:
                await asyncio.sleep(EVENT_POLL_SECONDS)
                now = await self._version()
                if now != last:
                    last = now
                    await response.write(b"event: change\ndata: {}\n\n")
                    quiet = 0.0
                else:
                    quiet += EVENT_POLL_SECONDS
                    if quiet >= 15:
                        await response.write(b": still here\n\n")
                        quiet = 0.0
        return response

    async def _version(self) -> object:
        store = self.daemon.store
        if store is None:
            return None
        return await store.scalar("SELECT n FROM feed_seq")

    async def _static(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        kinds = {".js": "text/javascript", ".css": "text/css"}
        kind = kinds.get(Path(name).suffix)
        if kind is None or "/" in name or name.startswith("."):
            raise web.HTTPNotFound()
        try:
            body = resources.files("agent.desk").joinpath("static", name).read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            raise web.HTTPNotFound() from None
        return web.Response(
            body=body,
            content_type=kind,
            charset="utf-8",
            headers={"Cache-Control": "max-age=3600"},
        )


def _safe_next(target: str) -> str:
    """Only a path of the desk itself (no other host, no scheme) to go back to."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/desk/"):
        return ""
    return quote(parts.path, safe="/") + (f"?{parts.query}" if parts.query else "")
