"""The `asterisk` source: the AMI connection feeding the call tracker."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from agent.model import CallRecord, Counters, Health, HealthState
from drivers.base import CallRefused, SiteContext
from drivers.sources.asterisk.badinput import BadInput
from drivers.sources.asterisk.config import AsteriskConfig
from drivers.sources.asterisk.connection import AmiConnection
from drivers.sources.asterisk.frames import Frame
from drivers.sources.asterisk.tracker import CallTracker, TrackerState

if TYPE_CHECKING:
    from drivers.sources.asterisk.cdr.runner import CatchupRunner

COUNTERS = (
    "records",
    "originate_refused",
    "records_with_gap",
    "events_ignored",
    "bad_frame_no_event",
    "bad_frame_oversize",
    "bad_frame_utf8",
    "bad_line",
    "event_missing_fields",
    "unknown_linkedid",
    "unknown_channel",
    "calls_evicted",
    "calls_merged",
    "login_refused",
    "ping_timeouts",
    "ping_late",
    "bad_timestamp",
    "event_failed",
    "calls_adopted",
    "resync_refused",
    "resync_incomplete",
    "held_frames_overflow",
)
FAILURES_BEFORE_DOWN = 3


class AsteriskSource:
    """A `drivers.base.Source` reading calls from the Asterisk Manager Interface."""

    def __init__(self, config: AsteriskConfig, site: SiteContext) -> None:
        self.name = config.name
        self._config = config
        self._site = site
        catchup = config.catchup
        catchup_counters: tuple[str, ...] = ()
        if catchup is not None:
            # the CDR catch-up's modules: imported only by a source that has one
            from drivers.sources.asterisk.cdr.catchup import COUNTERS as CATCHUP_COUNTERS

            catchup_counters = CATCHUP_COUNTERS
        self._counters = Counters(*COUNTERS, *catchup_counters)
        report = BadInput(self._counters, config.name)
        self._tracker = CallTracker(config, self._counters, report)
        self._connection = AmiConnection(config, self, self._counters, report, self._now)
        self._queue: asyncio.Queue[CallRecord] = asyncio.Queue()
        self._catchup: CatchupRunner | None = None
        if catchup is not None:
            from drivers.sources.asterisk.cdr.catchup import Catchup
            from drivers.sources.asterisk.cdr.runner import CatchupRunner

            reader = Catchup(
                catchup,
                config.name,
                site.tz,
                self._tracker.dialplan,
                config.short_abandon_seconds,
                self._counters,
                report,
            )
            self._catchup = CatchupRunner(
                reader, site, config.name, self._queue.put_nowait, self._tracker.calls.__contains__
            )

    def _now(self) -> float:
        return self._site.clock().timestamp()

    async def originate(
        self, extension: str, number_e164: str, caller_id: str
    ) -> CallRefused | None:
        """Click-to-call (`drivers.base.Originates`): ring `extension`, then dial the
        number. None when Asterisk queued the call, else why not (`no_link`,
        `no_answer`, or `refused` with Asterisk's own words)."""
        cfg = self._config
        digits = number_e164.lstrip("+")
        exten = {"e164": number_e164, "digits": digits, "national": _national(number_e164)}
        fields = {
            "Action": "Originate",
            "Channel": cfg.originate_channel.format(extension=extension),
            "Context": cfg.originate_context,
            "Exten": exten[cfg.originate_exten],
            "Priority": "1",
            "CallerID": caller_id,
            "Timeout": "30000",
            "Async": "true",
        }
        try:
            answer = await self._connection.send(fields, cfg.connect_timeout_seconds)
        except (TimeoutError, OSError, asyncio.CancelledError) as err:
            if isinstance(err, asyncio.CancelledError):
                raise
            return CallRefused("no_answer", type(err).__name__)
        if answer is None:
            return CallRefused("no_link")
        accepted, message = answer
        if accepted:
            return None
        self._counters.inc("originate_refused")
        return CallRefused("refused", message)

    async def records(self) -> AsyncIterator[CallRecord]:
        """Finished calls, until cancelled. Connection trouble is retried inside."""
        runner = asyncio.create_task(self._connection.run(), name=f"asterisk-ami:{self.name}")
        catching_up: asyncio.Task[None] | None = None
        if self._catchup is not None:
            catching_up = asyncio.create_task(
                self._catchup.run(), name=f"asterisk-catchup:{self.name}"
            )
        interval = min(60.0, self._config.call_idle_timeout_seconds / 10)
        getter: asyncio.Future[CallRecord] | None = None
        try:
            while True:
                if not self._queue.empty() and not runner.done():
                    # a burst: the calls already finished go at once, without a task
                    # and a wait each (the wait below is for when there is none)
                    record = self._queue.get_nowait()
                    if self._catchup is not None:
                        self._catchup.saw(record)
                    yield record
                    continue
                getter = asyncio.ensure_future(self._queue.get())
                done, _ = await asyncio.wait(
                    {getter, runner}, timeout=interval, return_when=asyncio.FIRST_COMPLETED
                )
                if getter in done:
                    record = getter.result()
                    if self._catchup is not None:
                        self._catchup.saw(record)
                    yield record
                    continue
                getter.cancel()
                if runner in done:
                    runner.result()  # a bug in the connection loop: let it surface
                self._push(self._tracker.evict(self._now()))
        finally:
            if getter is not None:
                getter.cancel()
            runner.cancel()
            if catching_up is not None:
                catching_up.cancel()
            for task in (runner, catching_up):
                if task is not None:
                    with contextlib.suppress(asyncio.CancelledError):
                        await task

    def _push(self, records: list[CallRecord]) -> None:
        for record in records:
            self._queue.put_nowait(record)

    # --- hand-off across a reload (drivers.base.HandsOver) -----------------------------

    def hand_over(self) -> object:
        """The calls in progress and the finished calls not yet yielded."""
        state = self._tracker.hand_over()
        while not self._queue.empty():
            state.pending.append(self._queue.get_nowait())
        return state

    def take_over(self, state: object) -> None:
        if not isinstance(state, TrackerState):
            return
        self._tracker.take_over(state)
        self._push(state.pending)

    # --- FrameSink -----------------------------------------------------------------

    def on_events(self, frames: list[Frame], received_at: float) -> None:
        feed = self._tracker.feed
        for frame in frames:
            out = feed(frame, received_at)
            if out:
                self._push(out)

    def on_session(self, channels: list[Frame], received_at: float) -> None:
        records = self._tracker.resync(channels, received_at)
        if self._catchup is not None:
            records = self._catchup.session(records)
        self._push(records)

    def on_lost(self) -> None:
        self._tracker.connection_lost()
        if self._catchup is not None:
            starts = [c.started_at for c in self._tracker.calls.values()]
            earliest = datetime.fromtimestamp(min(starts), UTC) if starts else None
            self._catchup.link_lost(earliest)

    # --- health --------------------------------------------------------------------

    def health(self) -> Health:
        conn = self._connection
        details = conn.details()
        details["calls_in_progress"] = self._tracker.calls_in_progress
        catchup = self._catchup
        if catchup is not None:
            details["catchup"] = catchup.details()
        since = datetime.fromtimestamp(conn.since, UTC) if conn.since is not None else None
        if conn.connected:
            state = HealthState.OK if conn.resync_ok else HealthState.DEGRADED
            summary = "connected" if conn.resync_ok else "connected, resync refused"
            if catchup is not None and catchup.last_error:
                state, summary = HealthState.DEGRADED, f"{summary}, CDR catch-up failing"
        elif conn.ever_connected or conn.failures >= FAILURES_BEFORE_DOWN:
            state, summary = HealthState.DOWN, f"AMI unavailable: {conn.last_error or 'lost'}"
        else:
            state, summary = HealthState.STARTING, "connecting to AMI"
        return Health(state, summary, since, details, self._counters.snapshot())


def _national(number_e164: str) -> str:
    import phonenumbers

    try:
        parsed = phonenumbers.parse(number_e164)
    except phonenumbers.NumberParseException:
        return number_e164.lstrip("+")
    return phonenumbers.national_significant_number(parsed)
