"""One running configuration: senders, chain, pipeline and its cases, dispatcher,
sources, status.

Started back to front (senders, dispatcher, sources, status API) and stopped front to
back (sources, then the dispatcher finishes the text in hand, then senders) under a
deadline. Every task is named, owned by one TaskGroup and run under the daemon's
supervisor (`agent.daemon.supervise`): a loop that fails is restarted with backoff,
the others go on. A reload builds a new
`Runtime` from the new configuration on the same open store.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
from collections.abc import Callable, Coroutine
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from types import TracebackType
from typing import Any, Self

from agent.cases.keeper import CaseKeeper
from agent.cases.sweep import sweep_loop
from agent.config.settings import LoadedConfig
from agent.daemon.supervise import Loops
from agent.decide.held import HELD_FILE, HeldCalls
from agent.decide.pipeline import Accepted, Pipeline
from agent.errors import RingbackError
from agent.model import CallRecord, Health, HealthState, record_to_json
from agent.report.watch import AlertWatcher
from agent.send.chain import SenderChain
from agent.send.dispatcher import Dispatcher
from agent.store import Store, writable
from agent.store.retention import retention_loop
from drivers.base import Sender, SenderContext, SiteContext, Source, utc_now
from drivers.senders import SENDERS
from drivers.sources import SOURCES

log = logging.getLogger(__name__)

POISON_TRIES = 3
DISPATCHER_STALL_SECONDS = 300.0
UNSTORED_FILE = "unstored-calls.jsonl"


@dataclass
class SourceState:
    source: Source
    task: asyncio.Task[None] | None = None
    finished: bool = False
    last_record_at: datetime | None = None
    records: int = 0


@dataclass
class Runtime:
    loaded: LoadedConfig
    store: Store
    clock: Callable[[], datetime] = utc_now
    stop_deadline: float = 10.0
    observer: Callable[[CallRecord, Accepted], None] | None = None
    loops: Loops = field(default_factory=Loops)
    sources: list[SourceState] = field(default_factory=list)
    senders: list[Sender] = field(default_factory=list)

    def __post_init__(self) -> None:
        settings = self.loaded.settings
        self.site = SiteContext(
            name=settings.site.name,
            tz=settings.site.tz,
            country=settings.site.country,
            clock=self.clock,
        )
        self.pipeline = Pipeline(settings, self.store, self.clock)
        self.cases = CaseKeeper(settings, self.store, self.pipeline.holiday_dates)
        self.pipeline.cases = self.cases
        self._stack = AsyncExitStack()
        self._group: asyncio.TaskGroup | None = None
        self.dispatcher: Dispatcher | None = None
        self.chain = SenderChain([])
        self._retention: asyncio.Task[None] | None = None
        self._sweep: asyncio.Task[None] | None = None
        self.alerts: AlertWatcher | None = None
        self._dispatcher_task: asyncio.Task[None] | None = None
        self._held_task: asyncio.Task[None] | None = None
        held_path = self.loaded.settings.storage.path.with_name(HELD_FILE)
        self.held = HeldCalls(held_path, self.pipeline.counters)
        self._held_waiting = asyncio.Event()
        self._held_room = asyncio.Event()

    def _supervised(
        self, name: str, start: Callable[[], Coroutine[Any, Any, None]]
    ) -> asyncio.Task[None]:
        if self._group is None:
            raise RuntimeError("the runtime is not started")
        return self._group.create_task(self.loops.supervise(name, start), name=name)

    async def __aenter__(self) -> Self:
        settings = self.loaded.settings
        await self._stack.__aenter__()
        try:
            context = SenderContext(self.site, self.pipeline.inbound)
            for cfg in settings.sms.senders:
                sender: Sender = SENDERS[cfg.type].load()(cfg, context)
                self.senders.append(await self._stack.enter_async_context(sender))
            self.chain = SenderChain(self.senders)
            self.dispatcher = Dispatcher(
                settings, self.store, self.chain, self.clock, self.pipeline.holiday_dates
            )
            self.pipeline.wake = self.dispatcher.wake
            self._group = await self._stack.enter_async_context(asyncio.TaskGroup())
            self._dispatcher_task = self._supervised("dispatcher", self.dispatcher.run)
            if self.held.load():
                log.warning(
                    "%d call(s) held by an earlier run in %s: storing them now",
                    len(self.held),
                    self.held.path,
                )
                self._held_waiting.set()
            self._held_task = self._supervised("held_calls", self._store_held)
            days = settings.storage.retention_days
            self._retention = self._supervised(
                "retention", lambda: retention_loop(self.store, days, self.clock)
            )
            if settings.cases.enabled:
                counters = self.cases.counters
                self._sweep = self._supervised(
                    "cases", lambda: sweep_loop(self.store, settings, self.clock, counters)
                )
            if settings.alerts.enabled:
                self.alerts = AlertWatcher(settings, self.store, self.clock, self.dispatcher.wake)
                self._supervised("alerts", self.alerts.run)
            for cfg in settings.pbx:
                state = SourceState(SOURCES[cfg.type].load()(cfg, self.site))
                state.task = self._supervised(f"source:{cfg.name}", partial(self._pump, state))
                self.sources.append(state)
        except BaseException:
            await self._stack.__aexit__(None, None, None)
            raise
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
        await self._stack.__aexit__(et, e, tb)

    async def stop(self) -> None:
        """Front to back: sources first, then the dispatcher, under the deadline."""
        if self._retention is not None:
            self._retention.cancel()
        if self._sweep is not None:
            self._sweep.cancel()
        if self._held_task is not None:
            self._held_task.cancel()  # what is still held stays in the spill file
        if self.alerts is not None:
            self.alerts.stop()
        for state in self.sources:
            if state.task is not None:
                state.task.cancel()
        await asyncio.gather(*(s.task for s in self.sources if s.task), return_exceptions=True)
        if self.dispatcher is not None:
            await self.dispatcher.stop(self.stop_deadline)
        if self._dispatcher_task is not None:
            self._dispatcher_task.cancel()  # a dispatcher waiting out its backoff

    async def _pump(self, state: SourceState) -> None:
        """Feed a source's records to the pipeline; a record is retried until stored."""
        async for record in state.source.records():
            await self._accept_until_stored(record)
            state.records += 1
            state.last_record_at = self.clock()
        state.finished = True
        log.info("source %s finished", state.source.name)

    async def _accept_until_stored(self, record: CallRecord) -> None:
        """Retry until the call is stored. A store that cannot write (disk full, I/O
        error) is retried for as long as it takes; a record the store refuses for
        what it holds is set aside after `POISON_TRIES` tries in a JSON-lines file
        beside the database, so one bad record never holds up the calls behind it."""
        delay, refused = 0.5, 0
        while True:
            if len(self.held):  # calls behind held ones wait behind them, in order
                await self._hold(record)
                return
            try:
                accepted = await self.pipeline.accept(record)
            except (RingbackError, sqlite3.OperationalError) as err:
                kind = writable.classify(err)
                if kind is not None:
                    self._store_unwritable(kind, err)
                    await self._hold(record)
                    return
                log.error(
                    "call_id=%s not stored yet, retrying in %.0fs: %s", record.call_id, delay, err
                )
            except Exception:
                refused += 1
                log.exception("call_id=%s: the store refused this record", record.call_id)
                if refused >= POISON_TRIES:
                    self._set_aside(record)
                    return
            else:
                if self.observer is not None:
                    self.observer(record, accepted)
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)

    def _store_unwritable(self, kind: str, err: BaseException) -> None:
        """One line and one count when the store stops taking writes."""
        if len(self.held) == 0:
            self.pipeline.counters.inc("store_unwritable")
            log.error(
                "the store is %s (%s): finished calls are held in memory and in %s until "
                "it takes writes again; texts wait",
                kind,
                err,
                self.held.path,
            )

    async def _hold(self, record: CallRecord) -> None:
        while self.held.full:
            self._held_room.clear()
            await self._held_room.wait()
        self.held.hold(record)
        self._held_waiting.set()

    async def _store_held(self) -> None:
        """Store the held calls, oldest first, as soon as the store takes writes
        again (tried every few seconds); one line when they all are."""
        while True:
            await self._held_waiting.wait()
            delay, stored = 0.5, 0
            while len(self.held):
                record = self.held.first()
                try:
                    accepted = await self.pipeline.accept(record)
                except (RingbackError, sqlite3.OperationalError) as err:
                    if writable.classify(err) is None:
                        log.error("call_id=%s held, not stored yet: %s", record.call_id, err)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 4.0)
                    continue
                except Exception:
                    log.exception("call_id=%s: the store refused this record", record.call_id)
                    self._set_aside(record)
                else:
                    if self.observer is not None:
                        self.observer(record, accepted)
                    stored += 1
                self.held.stored_first()
                self._held_room.set()
                delay = 0.5
            if stored:
                log.warning("the store takes writes again: %d held call(s) stored", stored)
            self._held_waiting.clear()

    def _set_aside(self, record: CallRecord) -> None:
        path = self.loaded.settings.storage.path.with_name(UNSTORED_FILE)
        with path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(record_to_json(record), ensure_ascii=False) + "\n")
        self.pipeline.counters.inc("calls_set_aside")
        log.error(
            "call_id=%s set aside in %s after %d refused tries (ringback replay can read it)",
            record.call_id,
            path,
            POISON_TRIES,
        )

    # --- what the status API and the watchdog look at -------------------------------

    def source_health(self) -> dict[str, Health]:
        out = {}
        for state in self.sources:
            try:
                out[state.source.name] = state.source.health()
            except Exception as err:  # a driver bug must not break the status page
                out[state.source.name] = Health(HealthState.DOWN, f"health() failed: {err}")
        return out

    def sender_health(self) -> dict[str, Health]:
        out = {}
        for sender in self.senders:
            try:
                out[sender.name] = sender.health()
            except Exception as err:
                out[sender.name] = Health(HealthState.DOWN, f"health() failed: {err}")
        return out

    def loops_alive(self) -> bool:
        """Every task still running (a finished replay source is fine) and the
        dispatcher finished a text or looked at the outbox within the last five minutes
        (a modem may take two to answer one submit)."""
        for state in self.sources:
            if state.task is not None and state.task.done() and not state.finished:
                return False
        if self.dispatcher is None:
            return False
        beat = self.dispatcher.heartbeat_at
        return beat is not None and (self.clock() - beat).total_seconds() < DISPATCHER_STALL_SECONDS


async def wait_first(*events: asyncio.Event) -> asyncio.Event:
    """Wait until one of the events is set and return it."""
    waiters = {asyncio.ensure_future(e.wait()): e for e in events}
    done, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return waiters[next(iter(done))]
