"""`ringback run`: the long-running service.

Order of life: load the config (exit 2 if invalid), take the database's lock (exit 3 if
another daemon holds it, agent/daemon/lock.py), open the store (exit 3 if unusable),
apply the outbox crash rule, start the runtime, listen with the status API and the desk
(exit 1 with one line naming the address if either cannot), then log "ready" and tell
systemd READY. READY does not wait for the PBX or the modem: they retry on their own and
report their health. SIGTERM/SIGINT stop gracefully under a deadline shorter than
systemd's stop timeout; a second one forces exit. SIGHUP reloads: an invalid new config
is refused with a log line and the running one stays; a valid one is applied to the
running runtime, where the drivers whose options did not change keep running.

Every loop (sources, dispatcher, retention, alerts, the status API, the heartbeat)
runs under `self.loops` (agent/daemon/supervise.py): a failure is logged, counted,
shown in `/v1/status` and restarted with backoff. The process exits only for what
a restart cannot mend, with the code `exit_code_for` gives: 2 the configuration,
3 the store unusable (the unit's RestartPreventExitStatus= names both), 1 a bug.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from agent.config.settings import LoadedConfig, load, resolve_path
from agent.daemon import systemd
from agent.daemon.lock import daemon_lock
from agent.daemon.runtime import Runtime, wait_first
from agent.daemon.supervise import EXIT_BUG, EXIT_CONFIG, Loops, exit_code_for
from agent.decide.pipeline import Accepted
from agent.errors import ConfigError, ListenError, StoreError
from agent.model import CallRecord
from agent.store import Store

if TYPE_CHECKING:
    from agent.desk.server import DeskServer
    from agent.status.heartbeat import Heartbeat
    from agent.status.server import StatusServer
from drivers.base import utc_now

log = logging.getLogger(__name__)

STOP_DEADLINE_SECONDS = 20.0  # systemd's TimeoutStopSec in the unit is 30 s


class Daemon:
    def __init__(
        self,
        loaded: LoadedConfig,
        config_path: Path | None,
        clock: Callable[[], datetime] = utc_now,
        on_ready: Callable[[Daemon], None] | None = None,
    ) -> None:
        self.loaded = loaded
        self.config_path = config_path
        self.clock = clock
        self.on_ready = on_ready
        self.started_at = clock()
        self.stop_requested = asyncio.Event()
        self.reload_requested = asyncio.Event()
        self.runtime: Runtime | None = None
        self.store: Store | None = None
        self.last_reload_ok = True
        self.last_reload_error: str | None = None
        self.loaded_at = self.started_at
        self._signals = 0
        self.observer: Callable[[CallRecord, Accepted], None] | None = None
        self.status_port: int | None = None
        self.status: StatusServer | None = None
        self.heartbeat: Heartbeat | None = None
        self.desk: DeskServer | None = None
        self.desk_port: int | None = None
        self._heartbeat_task: asyncio.Task[None] | None = None
        self._status_task: asyncio.Task[None] | None = None
        self._desk_task: asyncio.Task[None] | None = None
        self.loops = Loops(clock)

    def loop_report(self) -> dict[str, dict[str, Any]]:
        return self.loops.report()

    def request_stop(self) -> None:
        self._signals += 1
        if self._signals > 1:
            log.warning("second stop signal: exiting now")
            os._exit(1)
        log.info("stopping (signal received)")
        systemd.notify("STOPPING=1", "STATUS=stopping")
        self.stop_requested.set()

    def _install_signals(self) -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self.request_stop)
        loop.add_signal_handler(signal.SIGINT, self.request_stop)
        loop.add_signal_handler(signal.SIGHUP, self.reload_requested.set)

    async def run(self) -> int:
        self._install_signals()
        settings = self.loaded.settings
        with daemon_lock(settings.storage.path):
            return await self._run_locked()

    async def _run_locked(self) -> int:
        async with Store(self.loaded.settings.storage.path) as store:
            self.store = store
            requeued, unknown = await store.recover_interrupted(self.clock())
            if requeued or unknown:
                log.warning(
                    "outbox: %d interrupted send(s) requeued, %d moved to unknown",
                    requeued,
                    unknown,
                )
            try:
                await self._serve()
            finally:
                await self._stop_status()
        log.info("stopped")
        return 0

    async def _serve(self) -> None:
        """One runtime for the life of the process; a valid reload is applied to it in
        place, so the drivers whose options did not change keep running."""
        runtime = Runtime(
            self.loaded,
            self._store(),
            self.clock,
            STOP_DEADLINE_SECONDS,
            self.observer,
            loops=self.loops,
            held_until_started=True,
        )
        async with runtime as rt:
            self.runtime = rt
            await self._start_status()
            self._ready()
            watchdog = asyncio.create_task(self._watchdog(rt), name="watchdog")
            try:
                while (new := await self._wait_for_valid_reload()) is not None:
                    try:
                        await rt.reload(new)
                    except Exception as err:  # a bug in applying it: keep what runs
                        log.exception("reload failed; the running configuration stays")
                        self.last_reload_ok = False
                        self.last_reload_error = f"{type(err).__name__}: {err}"
                        systemd.notify("READY=1", "STATUS=reload failed")
                        continue
                    self.loaded = new
                    self.loaded_at = self.clock()
                    log.info("configuration reloaded (sha256 %s)", new.sha256[:12])
                    systemd.notify("READY=1", "STATUS=configuration reloaded")
            finally:
                watchdog.cancel()

    async def _start_status(self) -> None:
        """Listen with the status API (and the desk, when configured) before READY:
        `ListenError` if either cannot, and the start fails. Each then runs under a
        supervised loop that stops it on the way out."""
        from agent.status.heartbeat import Heartbeat
        from agent.status.server import StatusServer

        status = StatusServer(self)
        await status.start()
        self.status, self.status_port = status, status.port
        self._status_task = asyncio.create_task(
            self.loops.supervise("status", lambda: _hold(status)), name="status"
        )
        if self.loaded.settings.desk.listen is not None:
            from agent.desk.server import DeskServer

            desk = DeskServer(self, self.config_path)
            await desk.start()
            self.desk, self.desk_port = desk, desk.port
            self._desk_task = asyncio.create_task(
                self.loops.supervise("desk", lambda: _hold(desk)), name="desk"
            )
        heartbeat = self.heartbeat = Heartbeat(self)
        self._heartbeat_task = asyncio.create_task(
            self.loops.supervise("heartbeat", heartbeat.run), name="heartbeat"
        )

    async def _stop_status(self) -> None:
        """The heartbeat first (it reads the store), then the desk, then the status API."""
        for task in (self._heartbeat_task, self._desk_task, self._status_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    def _store(self) -> Store:
        if self.store is None:
            raise StoreError("the store is not open")
        return self.store

    def _ready(self) -> None:
        settings = self.loaded.settings
        systemd.notify(
            "READY=1",
            f"STATUS=running: {len(settings.pbx)} PBX source(s), "
            f"{len(settings.sms.senders)} sender(s)",
        )
        desk = f", desk on {settings.desk.listen}" if self.desk is not None else ""
        log.info("ready: status API on %s%s", settings.status.listen, desk)
        if self.runtime is not None:
            self.runtime.mark_started()
        _collector_after_start()
        if self.on_ready is not None:
            self.on_ready(self)

    async def _wait_for_valid_reload(self) -> LoadedConfig | None:
        """None when asked to stop; the new config when a reload is asked and valid."""
        while True:
            event = await wait_first(self.stop_requested, self.reload_requested)
            if event is self.stop_requested:
                return None
            self.reload_requested.clear()
            systemd.reloading()
            try:
                new = load(self.config_path)
            except Exception as err:  # ConfigError; anything else is a bug, never fatal here
                problems = err.problems if isinstance(err, ConfigError) else [repr(err)]
                self.last_reload_ok = False
                self.last_reload_error = f"{len(problems)} problem(s)"
                log.error(
                    "reload refused, keeping the running configuration:\n%s", "\n".join(problems)
                )
                systemd.notify("READY=1", "STATUS=reload refused: configuration invalid")
                continue
            if new.settings.storage.path != self.loaded.settings.storage.path:
                log.warning("storage.path changed: it takes effect at the next restart")
            self.last_reload_ok, self.last_reload_error = True, None
            return new

    async def _watchdog(self, rt: Runtime) -> None:
        """Ping systemd's watchdog only while every loop of the runtime is alive."""
        interval = systemd.watchdog_interval()
        if interval is None:
            return
        while True:
            if rt.loops_alive():
                systemd.notify("WATCHDOG=1")
            else:
                log.error("a loop is stuck or dead: withholding the watchdog ping")
            await asyncio.sleep(interval)


def run(config_path: Path | None) -> int:
    """Entry point of `ringback run`; returns the process exit code."""
    try:
        loaded = load(config_path)
    except ConfigError as err:
        for problem in err.problems:
            log.error("%s", problem)
        count = len(err.problems)
        log.error(
            "%d problem%s, not started: `ringback check-config %s` shows them with the numbers "
            "the log masks",
            count,
            "" if count == 1 else "s",
            resolve_path(config_path),
        )
        return EXIT_CONFIG
    from agent.daemon import logs

    logs.setup(loaded.settings.logging.level)
    try:
        return asyncio.run(Daemon(loaded, config_path).run())
    except Exception as err:  # a TaskGroup raises an ExceptionGroup
        if (listen := _listen_error(err)) is not None:
            log.critical("cannot start: %s", listen)
            return EXIT_BUG
        code = exit_code_for(err)
        log.critical("stopping, exit code %d: %s", code, _leaves(err))
        return code


def _collector_after_start() -> None:
    """`ringback run` starts with the cyclic garbage collector off (agent/cli/parser.py):
    what the start made (modules, settings, the runtime) lives as long as the process,
    so it is frozen, never to be scanned again, and the collector goes back on for
    what comes after. A daemon run inside another program (the tests) finds it on
    and leaves it alone."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


class _Listening(Protocol):
    async def stop(self) -> None: ...


async def _hold(server: _Listening) -> None:
    """A started server's loop: wait until cancelled, then stop it."""
    try:
        await asyncio.Event().wait()
    finally:
        await server.stop()


def _listen_error(err: BaseException) -> ListenError | None:
    if isinstance(err, ListenError):
        return err
    if isinstance(err, BaseExceptionGroup):
        found = [e for e in map(_listen_error, err.exceptions) if e is not None]
        return found[0] if found else None
    return None


def _leaves(err: BaseException) -> str:
    if isinstance(err, BaseExceptionGroup):
        return "; ".join(_leaves(e) for e in err.exceptions)
    return f"{type(err).__name__}: {err}"
