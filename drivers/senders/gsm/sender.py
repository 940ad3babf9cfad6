"""The `gsm` sender: a modem on a serial port, kept alive by one supervisor task.

    __aenter__ ─► supervisor: open port ─► initialise ─► serve (URC work, polls) ─┐
                      ▲   (port missing, silent modem, lost port: back off)       │
                      └───────────────────────────────────────────────────────────┘
    send() ─► plan (parts) ─► AT+CMGS per missing part ─► Sent | RetryLater | Rejected

Entering never fails: a missing modem is retried in the background and reported by
`health()`. A modem that stops answering is reopened and re-initialised; an unplugged
USB modem is picked up again when its /dev/serial/by-id name comes back. A SIM, plan or
PIN fault stops sending (RetryLater, the queue is kept) and is retried slowly; a
rejected PIN is never sent again. Replies are handed to `context.on_inbound` and only
then deleted from the SIM; delivery reports (status_reports, on by default) become
`DeliveryReport`s for `context.on_delivery`, matched to `Sent.provider_id`. `send()`
raises nothing but CancelledError.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
from types import TracebackType
from typing import Self

from agent.backoff import Backoff
from agent.model import (
    Counters,
    Health,
    HealthState,
    OutgoingText,
    Rejected,
    RetryLater,
    SendResult,
    Sent,
)
from drivers.base import SenderContext
from drivers.senders.gsm.at import AtChannel, AtError, Urc
from drivers.senders.gsm.config import GsmConfig
from drivers.senders.gsm.initialise import InitFailed, PinGuard, initialise, refresh
from drivers.senders.gsm.port import PortError, SerialPort
from drivers.senders.gsm.replies import Replies
from drivers.senders.gsm.reports import COUNTERS as REPORT_COUNTERS
from drivers.senders.gsm.reports import Reports
from drivers.senders.gsm.sending import Plans, send_plan
from drivers.senders.gsm.state import ModemState, signal

log = logging.getLogger(__name__)

COUNTERS = (
    "sent", "parts_sent", "retry_later", "rejected", "ambiguous", "garbled_line",
    "unexpected_line", "unexpected_prompt", "command_timeout", "submit_timeout", "port_lost",
    "port_open_failed", "reinit", "device_fault", "inbound_received", "inbound_undecodable",
    "inbound_bad_concat",
    "inbound_incomplete", "inbound_handler_error", "inbound_delete_failed",
    "send_internal_error", "urc", *REPORT_COUNTERS,
)  # fmt: skip


class GsmSender:
    def __init__(self, config: GsmConfig, context: SenderContext) -> None:
        self.name = config.name
        self._config = config
        self._context = context
        self._counters = Counters(*COUNTERS)
        self._state = ModemState(port=str(config.port))
        self._guard = PinGuard()
        self._plans = Plans(config, random.randrange(256))
        self._channel: AtChannel | None = None
        self._work = asyncio.Lock()  # one unit of modem work: a text's parts, a poll
        self._wake = asyncio.Event()
        self._recover = False
        self._fault: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._reports = Reports(context, self._counters, self.name)
        self._replies = Replies(config, context, self._counters, self.name, self._reports)

    # --- lifecycle --------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        self._state.since = self._context.site.clock()
        self._task = asyncio.create_task(self._supervise(), name=f"gsm-{self.name}")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._close()

    async def _supervise(self) -> None:
        failures = 0
        while True:
            served = await self._session()
            failures = 0 if served else failures + 1
            if self._state.phase == "fault":
                delay = self._config.device_fault_retry_seconds
            else:
                reopen = Backoff(self._config.reopen_min_seconds, self._config.reopen_max_seconds)
                delay = reopen.delay(failures + 1)
            await asyncio.sleep(delay if failures or self._state.phase == "fault" else 0)

    async def _session(self) -> bool:
        """Open, initialise, serve. True when the modem was ready at some point."""
        try:
            self._open()
            await self._initialise()
            await self._serve()
        except PortError as err:
            self._set_phase("port_missing", str(err))
            self._counters.inc("port_open_failed")
            return False
        except InitFailed as err:
            self._on_init_failed(err)
            return False
        except AtError as err:
            self._state.last_error = str(err)
            log.warning("gsm: %s: reopening the port", err)
        finally:
            self._close()
        return True

    def _open(self) -> None:
        channel = AtChannel(self._on_urc, self._counters)
        factory = functools.partial(
            SerialPort, self._config.port, self._config.baudrate, self._config.rtscts
        )
        channel.attach(factory)
        self._channel = channel
        log.info("gsm: opened %s", self._config.port)

    def _close(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        if self._state.phase == "ready":
            self._set_phase("starting", None)

    async def _initialise(self) -> None:
        assert self._channel is not None
        if self._state.phase != "fault":  # a known fault stays reported until cleared
            self._set_phase("initialising", None)
        async with self._work:
            await initialise(self._channel, self._config, self._state, self._guard)
        self._fault = None
        self._state.fault = None
        self._set_phase("ready", None)
        log.info(
            "gsm: modem ready: sim=%s registration=%s operator=%s csq=%s",
            self._state.sim, self._state.registration, self._state.operator, self._state.csq,
        )  # fmt: skip

    def _on_init_failed(self, err: InitFailed) -> None:
        if err.device:
            if err.reason != self._state.fault:
                self._counters.inc("device_fault")
                log.error("gsm: ALERT modem %s unusable: %s (queue kept)", self.name, err.reason)
            self._state.fault = err.reason
            self._set_phase("fault", err.reason)
        else:
            self._set_phase("starting", err.reason)
            log.warning("gsm: initialisation failed: %s", err.reason)

    def _set_phase(self, phase: str, error: str | None) -> None:
        if phase != self._state.phase:
            self._state.since = self._context.site.clock()
        self._state.phase = phase
        if error:
            self._state.last_error = error

    # --- serving ----------------------------------------------------------------------

    async def _serve(self) -> None:
        """Until the port is lost or the modem stops answering (AtError raised)."""
        assert self._channel is not None
        channel = self._channel
        loop = asyncio.get_running_loop()
        next_health = loop.time() + self._config.health_poll_seconds
        next_inbox = 0.0
        while not channel.lost.is_set():
            await self._repair()
            await self._replies.work(channel, self._work)
            if loop.time() >= next_inbox:
                await self._replies.poll(channel, self._work)
                if self._state.delivery_reports == "stored":
                    await self._replies.poll_reports(channel, self._work)
                next_inbox = loop.time() + self._config.inbox_poll_seconds
            if loop.time() >= next_health:
                async with self._work:
                    await refresh(channel, self._config, self._state)
                next_health = loop.time() + self._config.health_poll_seconds
            due = min(next_health, next_inbox, self._replies.next_due(loop.time()))
            await self._sleep_until(due, channel)

    async def _sleep_until(self, due: float, channel: AtChannel) -> None:
        timeout = max(0.0, due - asyncio.get_running_loop().time())
        self._wake.clear()
        wake = asyncio.ensure_future(self._wake.wait())
        lost = asyncio.ensure_future(channel.lost.wait())
        try:
            await asyncio.wait((wake, lost), timeout=timeout, return_when="FIRST_COMPLETED")
        finally:
            wake.cancel()
            lost.cancel()

    async def _repair(self) -> None:
        if self._fault is not None:
            raise InitFailed(self._fault, device=True)
        if self._recover:
            self._recover = False
            self._counters.inc("reinit")
            log.info("gsm: re-initialising the modem")
            await self._initialise()

    def _on_urc(self, urc: Urc) -> None:
        line = urc.line
        if self._replies.on_urc(urc):
            self._wake.set()
        elif line.startswith("^RSSI:"):
            self._state.csq, self._state.rssi_dbm = signal(line[6:])
        elif line.startswith(("+CREG:", "+CGREG:", "+CEREG:")):
            self._wake.set()  # the next poll reads all three
        elif line == "RDY" or (line.startswith("+CPIN:") and "READY" not in line):
            log.warning("gsm: the modem restarted (%s): re-initialising", line)
            self._recover = True
            self._wake.set()

    # --- sending ----------------------------------------------------------------------

    async def send(self, text: OutgoingText) -> SendResult:
        try:
            result = await self._send(text)
        except asyncio.CancelledError:
            raise
        except Exception:
            self._counters.inc("send_internal_error")
            log.exception("gsm: internal error sending message_id=%d", text.message_id)
            result = RetryLater(60.0, "internal error in the gsm sender (see the log)")
        self._count(result)
        return result

    async def _send(self, text: OutgoingText) -> SendResult:
        if not self._usable():
            return RetryLater(self._config.not_ready_retry_seconds, self._not_ready())
        try:
            plan = self._plans.plan_for(text)
        except ValueError as err:
            return Rejected(f"cannot encode the text: {err}")
        if len(plan.pdus) > self._config.max_parts:
            self._plans.done(text.message_id)
            return Rejected(
                f"text needs {len(plan.pdus)} parts (max_parts {self._config.max_parts})"
            )
        async with self._work:
            if not self._usable() or self._channel is None:
                return RetryLater(self._config.not_ready_retry_seconds, self._not_ready())
            outcome = await send_plan(
                self._channel, self._config, plan, text.attempt, text.message_id
            )
            if self._track(text, plan.references, outcome.result):
                self._wake.set()
        if isinstance(outcome.result, Sent):
            self._state.last_success_at = self._context.site.clock()
            self._counters.inc("parts_sent", len(plan.pdus))
        if isinstance(outcome.result, Sent | Rejected):
            self._plans.done(text.message_id)
        if outcome.device_fault is not None:
            self._fault = outcome.device_fault
        self._recover = self._recover or outcome.reinit
        if outcome.reinit or outcome.device_fault:
            self._wake.set()
        if isinstance(outcome.result, RetryLater):
            self._state.last_error = outcome.result.reason
        return outcome.result

    def _track(self, text: OutgoingText, references: list[int | None], result: SendResult) -> bool:
        """Under the work lock: which TP-MRs the text used, for its delivery reports."""
        if not self._config.status_reports or not any(r is not None for r in references):
            return False
        provider_id = result.provider_id if isinstance(result, Sent) else ""
        return self._reports.track(text.message_id, text.to_e164, references, provider_id)

    def _usable(self) -> bool:
        return self._state.ready and self._fault is None and not self._recover

    def _not_ready(self) -> str:
        state = self._state
        if state.phase == "ready":
            return f"modem not registered on the network ({state.registration})"
        return f"modem not ready ({state.phase}: {state.last_error or 'starting'})"

    def _count(self, result: SendResult) -> None:
        if isinstance(result, Sent):
            self._counters.inc("sent")
        elif isinstance(result, Rejected):
            self._counters.inc("rejected")
        else:
            self._counters.inc("ambiguous" if result.ambiguous else "retry_later")

    # --- health -----------------------------------------------------------------------

    def health(self) -> Health:
        state = self._state
        health_state, summary = self._summary()
        return Health(
            health_state,
            summary,
            since=state.since,
            details=state.details(),
            counters=self._counters.snapshot(),
        )

    def _summary(self) -> tuple[HealthState, str]:
        state = self._state
        if state.phase == "fault":
            return HealthState.DOWN, f"modem fault: {state.fault}"
        if state.phase == "port_missing":
            return HealthState.DOWN, f"port missing: {state.last_error}"
        if state.phase != "ready":
            return HealthState.STARTING, f"modem {state.phase}"
        if not state.registered:
            return HealthState.DOWN, f"not registered ({state.registration})"
        if state.csq is not None and state.csq < 5:
            return HealthState.DEGRADED, f"weak signal ({state.rssi_dbm} dBm)"
        return HealthState.OK, f"ready on {state.operator or 'network'}"
