"""The running configuration: senders, chain, pipeline and its cases, dispatcher,
sources.

Started back to front (senders, dispatcher, sources, status API) and stopped front to
back (sources, then the dispatcher finishes the text in hand, then senders) under a
deadline. Every task is named, owned by one TaskGroup and run under the daemon's
supervisor (`agent.daemon.supervise`): a loop that fails is restarted with backoff,
the others go on. A finished call the store cannot take (full, read-only) is held in
memory and in a spill file beside it (`agent.decide.held`) and stored when it can.

`reload()` applies a new configuration in place. A driver (source or sender) whose
options and site are unchanged keeps running: same AMI connection, same modem
session, same serial port. Only changed drivers restart; a source that restarts hands
its calls in progress to its successor (`drivers.base.hand_over`). The pipeline,
the dispatcher, the alerts and retention are rebuilt from the new settings, and the
kept drivers feed and serve the new ones.
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

from agent.backoff import Backoff, Retries
from agent.cases.keeper import CaseKeeper
from agent.cases.notify import Notifier
from agent.cases.sweep import sweep_loop
from agent.config.settings import LoadedConfig, Settings
from agent.daemon.supervise import Loops
from agent.decide.held import HELD_FILE, HeldCalls
from agent.decide.pipeline import Accepted, Pipeline
from agent.errors import RingbackError
from agent.model import (
    CallRecord,
    DeliveryReport,
    Health,
    HealthState,
    InboundText,
    record_to_json,
)
from agent.report.watch import AlertWatcher
from agent.send.chain import SenderChain
from agent.send.deliveries import Deliveries
from agent.send.dispatcher import Dispatcher
from agent.store import Store, writable
from agent.store.retention import retention_loop
from drivers.base import (
    DriverConfig,
    Sender,
    SenderContext,
    SiteContext,
    Source,
    WebhookReceiver,
    hand_over,
    utc_now,
)
from drivers.senders import SENDERS
from drivers.sources import SOURCES

log = logging.getLogger(__name__)

# Records of one source being stored at once (agent/store/group.py batches them).
IN_FLIGHT = 256
STORE_BACKOFF = Backoff(0.5, 30.0)
POISON_TRIES = 3
DISPATCHER_STALL_SECONDS = 300.0
UNSTORED_FILE = "unstored-calls.jsonl"


@dataclass
class SourceState:
    source: Source
    config: DriverConfig | None = None
    task: asyncio.Task[None] | None = None
    finished: bool = False
    last_record_at: datetime | None = None
    records: int = 0


@dataclass
class SenderSlot:
    """One open sender with the options it was built from and what closes it."""

    config: DriverConfig
    sender: Sender
    stack: AsyncExitStack


@dataclass
class Runtime:
    loaded: LoadedConfig
    store: Store
    clock: Callable[[], datetime] = utc_now
    stop_deadline: float = 10.0
    observer: Callable[[CallRecord, Accepted], None] | None = None
    sources: list[SourceState] = field(default_factory=list)
    senders: list[Sender] = field(default_factory=list)
    loops: Loops = field(default_factory=Loops)
    # The daemon's: the senders' own rounds wait for `mark_started()` (its status API
    # listens); without it they start at once.
    held_until_started: bool = False

    def __post_init__(self) -> None:
        self._started = asyncio.Event()
        if not self.held_until_started:
            self._started.set()
        self.site = self._site_of(self.loaded)
        self._new_pipeline(self.loaded.settings)
        self._stack = AsyncExitStack()
        self._group: asyncio.TaskGroup | None = None
        self.dispatcher: Dispatcher | None = None
        self.chain = SenderChain([])
        self._slots: dict[str, SenderSlot] = {}
        self._retention: asyncio.Task[None] | None = None
        self._sweep: asyncio.Task[None] | None = None
        self._alerts_task: asyncio.Task[None] | None = None
        self.alerts: AlertWatcher | None = None
        self.notifier: Notifier | None = None
        self._notify_task: asyncio.Task[None] | None = None
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

    def _new_pipeline(self, settings: Settings) -> None:
        self.pipeline = Pipeline(settings, self.store, self.clock)
        self.cases = CaseKeeper(settings, self.store, self.pipeline.holiday_dates)
        self.pipeline.cases = self.cases

    def _site_of(self, loaded: LoadedConfig) -> SiteContext:
        site = loaded.settings.site
        return SiteContext(
            name=site.name,
            tz=site.tz,
            country=site.country,
            clock=self.clock,
            last_call_at=self.store.last_call_ended_at,
        )

    async def __aenter__(self) -> Self:
        await self._stack.__aenter__()
        try:
            await self._open_senders({})
            self._group = await self._stack.enter_async_context(asyncio.TaskGroup())
            if self.held.load():
                log.warning(
                    "%d call(s) held by an earlier run in %s: storing them now",
                    len(self.held),
                    self.held.path,
                )
                self._held_waiting.set()
            self._held_task = self._supervised("held_calls", self._store_held)
            self._start_core()
            self._start_sources({})
        except BaseException:
            await self._stack.__aexit__(None, None, None)
            await self._close_senders(list(self._slots.values()))
            raise
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            await self.stop()
            await self._stack.__aexit__(et, e, tb)
        finally:
            await self._close_senders(list(self._slots.values()))

    async def stop(self) -> None:
        """Front to back: sources first, then the dispatcher, under the deadline."""
        if self._held_task is not None:
            self._held_task.cancel()  # what is still held stays in the spill file
        await self._stop_sources(self.sources)
        await self._stop_core()

    # --- reload ------------------------------------------------------------------------

    async def reload(self, new: LoadedConfig) -> None:
        """Apply `new` in place; see the module docstring."""
        old_site, self.site = self.site, self._site_of(new)
        same_site = self.site == old_site
        self.loaded = new
        settings = new.settings
        wanted = {c.name: c for c in settings.pbx}
        kept = {
            s.source.name: s
            for s in self.sources
            if same_site and wanted.get(s.source.name) == s.config
        }
        leaving = [s for s in self.sources if s.source.name not in kept]
        await self._stop_sources(leaving)
        await self._stop_core()
        self._new_pipeline(settings)
        senders = {c.name: c for c in settings.sms.senders}
        stale = [
            slot
            for name, slot in self._slots.items()
            if not same_site or senders.get(name) != slot.config
        ]
        for slot in stale:
            del self._slots[slot.config.name]
        await self._close_senders(stale)
        kept_senders = dict(self._slots)
        await self._open_senders(kept_senders)
        self._start_core()
        self._start_sources(kept, {s.source.name: s.source for s in leaving})
        log.info(
            "reload: kept %d source(s) and %d sender(s), restarted or added %d and %d",
            len(kept),
            len(kept_senders),
            len(settings.pbx) - len(kept),
            len(settings.sms.senders) - len(kept_senders),
        )

    # --- senders -------------------------------------------------------------------

    async def _open_senders(self, kept: dict[str, SenderSlot]) -> None:
        """The configured senders in their order: the kept ones as they are, the others
        opened now. Each is closed on its own stack."""
        context = SenderContext(
            self.site,
            self._inbound,
            self._delivery,
            self.store.load_mark,
            self._save_mark,
            self.store.sent_texts,
            self._wait_started,
        )
        self._slots = {}
        for cfg in self.loaded.settings.sms.senders:
            slot = kept.get(cfg.name)
            if slot is None:
                stack = AsyncExitStack()
                sender: Sender = SENDERS[cfg.type].load()(cfg, context)
                slot = SenderSlot(cfg, await stack.enter_async_context(sender), stack)
            self._slots[cfg.name] = slot
        self.senders = [slot.sender for slot in self._slots.values()]
        self.chain = SenderChain(self.senders)

    async def _close_senders(self, slots: list[SenderSlot]) -> None:
        for slot in reversed(slots):
            try:
                await slot.stack.aclose()
            except Exception:
                log.exception("driver=%s did not close cleanly", slot.config.name)

    def mark_started(self) -> None:
        """The daemon has started: the senders' background rounds may begin."""
        self._started.set()

    async def _wait_started(self) -> None:
        await self._started.wait()

    async def _inbound(self, text: InboundText) -> None:
        """Texts callers send back go to the pipeline in force now (kept senders
        outlive the pipeline they were opened with)."""
        await self.pipeline.inbound(text)

    async def _delivery(self, report: DeliveryReport) -> None:
        """The carrier's word on a sent text, applied with the pipeline's counters."""
        await Deliveries(self.store, self.pipeline.counters, self.clock).on_delivery(report)

    async def _save_mark(self, sender: str, key: str, value: str) -> None:
        await self.store.save_mark(sender, key, value, self.clock())

    # --- what reads the settings: dispatcher, retention, alerts -------------------------

    def _start_core(self) -> None:
        assert self._group is not None
        settings = self.loaded.settings
        self.dispatcher = Dispatcher(
            settings, self.store, self.chain, self.clock, self.pipeline.holiday_dates
        )
        self.pipeline.wake = self.dispatcher.wake
        self.dispatcher.counters = self.pipeline.counters
        self.held.counters = self.pipeline.counters
        self._dispatcher_task = self._supervised("dispatcher", self.dispatcher.run)
        days = settings.storage.retention_days
        self._retention = self._supervised(
            "retention", lambda: retention_loop(self.store, days, self.clock)
        )
        if settings.cases.enabled:
            counters = self.cases.counters
            self._sweep = self._supervised(
                "cases", lambda: sweep_loop(self.store, settings, self.clock, counters)
            )
            notifier = Notifier(settings, self.store, self.clock, self.dispatcher.wake)
            self.notifier = notifier
            self._notify_task = self._supervised("notify", notifier.run)
        self.alerts = None
        if settings.alerts.enabled:
            self.alerts = AlertWatcher(settings, self.store, self.clock, self.dispatcher.wake)
            self._alerts_task = self._supervised("alerts", self.alerts.run)

    async def _stop_core(self) -> None:
        """Retention, the case sweep, the staff notifier and alerts at once; the
        dispatcher finishes the text in hand."""
        if self._retention is not None:
            self._retention.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._retention
            self._retention = None
        if self._sweep is not None:
            self._sweep.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweep
            self._sweep = None
        if self.alerts is not None:
            self.alerts.stop()
        if self._notify_task is not None:
            self._notify_task.cancel()  # a mail or webhook in hand is tried again later
            with contextlib.suppress(asyncio.CancelledError):
                await self._notify_task
            self._notify_task = None
            self.notifier = None
        if self.dispatcher is not None:
            await self.dispatcher.stop(self.stop_deadline)
        if self._dispatcher_task is not None:
            self._dispatcher_task.cancel()  # a dispatcher waiting out its backoff
            with contextlib.suppress(asyncio.CancelledError):
                await self._dispatcher_task
            self._dispatcher_task = None
        if self._alerts_task is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._alerts_task), self.stop_deadline)
            self._alerts_task = None

    # --- sources -------------------------------------------------------------------

    def _start_sources(
        self, kept: dict[str, SourceState], leaving: dict[str, Source] | None = None
    ) -> None:
        """The configured sources in their order; a new source takes over the calls in
        progress of the one it replaces."""
        assert self._group is not None
        states = []
        for cfg in self.loaded.settings.pbx:
            state = kept.get(cfg.name)
            if state is None:
                state = SourceState(SOURCES[cfg.type].load()(cfg, self.site), cfg)
                old = (leaving or {}).get(cfg.name)
                if old is not None and hand_over(old, state.source):
                    log.info("source %s restarted: calls in progress handed over", cfg.name)
                state.task = self._supervised(f"source:{cfg.name}", partial(self._pump, state))
            states.append(state)
        self.sources = states

    async def _stop_sources(self, states: list[SourceState]) -> None:
        for state in states:
            if state.task is not None:
                state.task.cancel()
        await asyncio.gather(*(s.task for s in states if s.task), return_exceptions=True)

    async def _pump(self, state: SourceState) -> None:
        """Feed a source's records to the pipeline; a record is retried until stored.
        The next record does not wait for the previous one's commit: records that come
        while a commit is in flight are stored together in the next one (group commit,
        agent/store/group.py), in the order the source gave them, each durable before
        it counts; at most `IN_FLIGHT` wait at once (then the source waits)."""
        room = asyncio.Semaphore(IN_FLIGHT)

        async def store(record: CallRecord) -> None:
            try:
                await self._accept_until_stored(record)
            finally:
                room.release()
            state.records += 1
            state.last_record_at = self.clock()

        async with asyncio.TaskGroup() as group:
            async for record in state.source.records():
                await room.acquire()
                group.create_task(store(record), name=f"store:{state.source.name}")
        state.finished = True
        log.info("source %s finished", state.source.name)

    async def _accept_until_stored(self, record: CallRecord) -> None:
        """Retry until the call is stored. A store that cannot write (disk full, I/O
        error) is retried for as long as it takes; a record the store refuses for
        what it holds is set aside after `POISON_TRIES` tries in a JSON-lines file
        beside the database, so one bad record never holds up the calls behind it."""
        retries: Retries | None = None  # made at the first failure (seeding costs)
        refused = 0
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
                retries = retries or Retries(STORE_BACKOFF)
                delay = retries.backoff.delay(retries.failures + 1)
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
            retries = retries or Retries(STORE_BACKOFF)
            await asyncio.sleep(retries.next())

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
            # ASCII escapes: a record refused for a lone surrogate must still be written
            out.write(json.dumps(record_to_json(record)) + "\n")
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

    def webhook_receiver(self, kind: str, name: str) -> WebhookReceiver | None:
        """The open sender of that `type:` and name that takes its provider's
        callbacks (the status API's `/hooks/<type>/<name>`)."""
        slot = self._slots.get(name)
        if slot is None or slot.config.type != kind:
            return None
        return slot.sender if isinstance(slot.sender, WebhookReceiver) else None

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
