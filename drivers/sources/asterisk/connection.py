"""The AMI session: connect, log in, ask for the needed events, resync, keep alive,
and reconnect with capped exponential backoff and jitter (tenacity).

`AmiConnection.run()` runs until cancelled and never raises for network trouble or
a refused login: it reports them through `details()` and counters and tries again.
What it reads goes to a `FrameSink`: batches of events, one snapshot of the channels
in progress after each login (`CoreShowChannels`), and a notice when the link is
lost. Events that arrive while the snapshot is taken are held back and delivered
right after it, so the sink sees a consistent order.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from tenacity import AsyncRetrying, retry_if_exception_type, wait_exponential_jitter

from agent.model import Counters
from drivers.sources.asterisk.config import AsteriskConfig
from drivers.sources.asterisk.events import EVENT_CLASSES, WANTED
from drivers.sources.asterisk.frames import Frame, FrameParser, Report
from drivers.sources.asterisk.protocol import AmiProtocol, SessionLost

log = logging.getLogger("drivers.sources.asterisk")

LIST_EVENTS = frozenset({"CoreShowChannel", "CoreShowChannelsComplete"})
STABLE_SESSION_SECONDS = 30.0  # a session this long resets the backoff
MAX_HELD_FRAMES = 100_000


class LoginRefused(ConnectionError):
    """Asterisk refused the username or secret (never includes the secret)."""


class FrameSink(Protocol):
    def on_events(self, frames: list[Frame], received_at: float) -> None: ...

    def on_session(self, channels: list[Frame], received_at: float) -> None: ...

    def on_lost(self) -> None: ...


_RETRYABLE = (OSError, TimeoutError, SessionLost, LoginRefused)


class AmiConnection:
    def __init__(
        self,
        config: AsteriskConfig,
        sink: FrameSink,
        counters: Counters,
        report: Report,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._config = config
        self._sink = sink
        self._counters = counters
        self._report = report
        self._clock = clock
        self._held: list[Frame] | None = None
        self._proto: AmiProtocol | None = None  # the live session, for actions (Originate)
        self.connected = False
        self.ever_connected = False
        self.resync_ok = True
        self.failures = 0
        self.reconnects = 0
        self.last_error = ""
        self.last_event_at: float | None = None
        self.since: float | None = None
        self.version: str | None = None

    # --- the loop ------------------------------------------------------------------

    async def run(self) -> None:
        """Connect and serve forever; backoff restarts after each stable session."""
        cfg = self._config
        while True:
            retrying = AsyncRetrying(
                wait=wait_exponential_jitter(
                    multiplier=cfg.reconnect_min_seconds,
                    max=cfg.reconnect_max_seconds,
                    jitter=cfg.reconnect_min_seconds,
                ),
                retry=retry_if_exception_type(_RETRYABLE),
                before_sleep=self._before_sleep,
            )
            await retrying(self._session)

    def _before_sleep(self, state: Any) -> None:
        self.failures += 1
        err = state.outcome.exception() if state.outcome else None
        self.last_error = _describe(err)
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning(
            "asterisk: driver=%s AMI %s:%d unavailable (%s), retry in %.1fs",
            self._config.name,
            self._config.host,
            self._config.port,
            self.last_error,
            wait,
        )

    async def _session(self) -> None:
        """One connection, from TCP connect until it is lost."""
        loop = asyncio.get_running_loop()
        cfg = self._config
        parser = FrameParser(
            self._counters, self._report, cfg.max_frame_bytes, WANTED | LIST_EVENTS
        )
        proto: AmiProtocol | None = None
        try:
            async with asyncio.timeout(cfg.connect_timeout_seconds):
                _, proto = await loop.create_connection(
                    lambda: AmiProtocol(parser, self._deliver), cfg.host, cfg.port
                )
                self._held = []
                await self._login(proto)
                await self._request_events(proto)
            channels = await self._snapshot(proto)  # its own idle limit: lists are long
            self._start(proto, channels)
            started = time.monotonic()
            await self._keepalive(proto)
        finally:
            if proto is not None:
                proto.close()
            self._held = None
            self._proto = None
            self._stop(deliberate=sys.exc_info()[0] is asyncio.CancelledError)
        if time.monotonic() - started < STABLE_SESSION_SECONDS:
            raise SessionLost(self.last_error or "AMI connection lost")

    async def send(self, fields: dict[str, str], limit: float) -> tuple[bool, str] | None:
        """One action on the live session: (accepted, Asterisk's message); None when
        there is no session to send it on."""
        proto = self._proto
        if proto is None:
            return None
        response = await proto.action(fields, limit)
        return bool(response.success), str(response.get("Message", "") or "")

    def _start(self, proto: AmiProtocol, channels: list[Frame]) -> None:
        self._proto = proto
        now = self._clock()
        if self.ever_connected:
            self.reconnects += 1
        self.connected = self.ever_connected = True
        self.failures = 0
        self.since = now
        self.version = proto.banner
        held, self._held = self._held or [], None
        log.info(
            "asterisk: driver=%s connected to AMI %s:%d (%s), %d channels in progress",
            self._config.name,
            self._config.host,
            self._config.port,
            proto.banner or "unknown version",
            len(channels),
        )
        self._sink.on_session(channels, now)
        if held:
            self._sink.on_events(held, now)

    def _stop(self, deliberate: bool = False) -> None:
        if self.connected:
            self.connected = False
            self.since = self._clock()
            if deliberate:
                log.info("asterisk: driver=%s AMI link closed", self._config.name)
            else:
                log.warning("asterisk: driver=%s AMI link lost", self._config.name)
            self._sink.on_lost()

    def _deliver(self, frames: list[Frame]) -> None:
        now = self._clock()
        self.last_event_at = now
        if self._held is None:
            self._sink.on_events(frames, now)
        elif len(self._held) < MAX_HELD_FRAMES:
            self._held.extend(frames)
        else:
            self._report("held_frames_overflow", "too many events while resyncing, dropped")

    # --- the steps -----------------------------------------------------------------

    async def _login(self, proto: AmiProtocol) -> None:
        cfg = self._config
        secret = cfg.secret.get_secret_value() if cfg.secret is not None else ""
        fields = {
            "Action": "Login",
            "Username": cfg.username,
            "Secret": secret,
            "Events": EVENT_CLASSES,
        }
        response = await proto.action(fields, cfg.connect_timeout_seconds)
        if not response.success:
            self._counters.inc("login_refused")
            raise LoginRefused(f"login refused for user {cfg.username!r}")

    async def _request_events(self, proto: AmiProtocol) -> None:
        """Best effort: a server-side whitelist (Filter action) of the events we read."""
        if not self._config.event_filter:
            return
        for name in sorted(WANTED):
            fields = {"Action": "Filter", "Operation": "Add", "Filter": f"Event: {name}"}
            response = await proto.action(fields, self._config.connect_timeout_seconds)
            if not response.success:
                self._report("filter_refused", "Filter action refused; filtering locally")
                return

    async def _snapshot(self, proto: AmiProtocol) -> list[Frame]:
        """The channels in progress, read whole from the CoreShowChannels event list
        (one `CoreShowChannel` per channel, then `CoreShowChannelsComplete`). Live
        events arriving meanwhile are held back by `_deliver`, not lost."""
        fields = {"Action": "CoreShowChannels"}
        items = await proto.event_list(fields, self._config.connect_timeout_seconds)
        if not items or not items[0].success or "Event" in items[0]:
            self.resync_ok = False
            self._report("resync_refused", "CoreShowChannels refused; calls may be unknown")
            return []
        channels = [dict(m.items()) for m in items if m.get("Event") == "CoreShowChannel"]
        complete = next((m for m in items if m.get("Event") == "CoreShowChannelsComplete"), None)
        listed = complete.get("ListItems", "") if complete is not None else ""
        if listed.isdigit() and int(listed) != len(channels):
            self._report(
                "resync_incomplete",
                f"CoreShowChannels listed {listed} channels, {len(channels)} received",
            )
        self.resync_ok = True
        return channels

    async def _keepalive(self, proto: AmiProtocol) -> None:
        """Ping every interval; returns when the link is lost, or when a Ping goes
        unanswered and nothing at all was read meanwhile. Under a burst the Pong waits
        behind the events still queued on the socket: a late answer while bytes keep
        arriving is a busy link, not a dead one (counted `ping_late`)."""
        cfg = self._config
        while True:
            done, _ = await asyncio.wait({proto.lost}, timeout=cfg.ping_interval_seconds)
            if done:
                self.last_error = "connection closed by Asterisk"
                return
            before = proto.received_bytes
            try:
                await proto.action({"Action": "Ping"}, cfg.ping_timeout_seconds)
            except SessionLost:
                self.last_error = "connection closed by Asterisk"
                return
            except TimeoutError:
                if proto.received_bytes != before:
                    self._counters.inc("ping_late")
                    continue
                self._counters.inc("ping_timeouts")
                self.last_error = "no answer to Ping"
                await self._drain(proto)
                return

    async def _drain(self, proto: AmiProtocol) -> None:
        """Before giving up on a link, let the loop deliver what is already on the
        socket (events queued behind the silence) so nothing read is thrown away:
        wait while reads still bring bytes, at most `ping_timeout_seconds`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._config.ping_timeout_seconds
        while not proto.closed and loop.time() < deadline:
            seen = proto.received_bytes
            await asyncio.sleep(0.05)
            if proto.received_bytes == seen:
                return

    # --- reporting -----------------------------------------------------------------

    def details(self) -> dict[str, object]:
        return {
            "host": self._config.host,
            "port": self._config.port,
            "connected": self.connected,
            "asterisk_version": self.version,
            "last_event_at": _iso(self.last_event_at),
            "reconnects": self.reconnects,
            "connect_failures": self.failures,
            "last_error": self.last_error or None,
            "resync_ok": self.resync_ok,
        }


def _describe(err: BaseException | None) -> str:
    if err is None:
        return "unknown error"
    if isinstance(err, TimeoutError):
        return "timed out"
    if isinstance(err, OSError) and err.strerror:
        return err.strerror
    return str(err) or type(err).__name__


def _iso(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")
