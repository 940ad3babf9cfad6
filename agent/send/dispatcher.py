"""Claims due texts from the outbox and sends them through the sender chain.

Loop: claim what is due (committed as `sending` first), re-check just before sending
(expired, opted out, recovered: the caller called again and was answered, or the
dealership called them), render the template from the state at send time (the
department open or closed now chooses `open` or `after_hours`, and `{opens_at}` is
the next opening from now; a department with no text for its state now withdraws
the text as `<template>_no_template`), send through the chain, record the attempt.
A text already attempted keeps the words it was first sent with. A text that comes
due inside quiet hours (it waited for a retry, or the daemon was down), the site's or
the caller's own, is put back until they end, or withdrawn as `too_old` when that is
past its expiry.
A reply in a case's conversation leaves only through the sender pinned on it (`via`:
the one that reached the caller first), or through the chain when that sender is no
longer configured.
A sent text's provider id is recorded with the carrier's reports that came for it
before (a sender that reports at once), applied in the same transaction
(`Deliveries.adopt`).
`RetryLater` reschedules with capped exponential backoff (or the sender's own longer
wait) until `sms.retry.max_attempts`; `Rejected` fails the message (and opts the
number out when the provider says so); an ambiguous result (the text may have left)
parks it as `unknown` for a technician.

A store that is full or read-only (agent/store/writable.py) is waited out: nothing is
claimed while it lasts, and the result of a text already sent is kept in hand and
written as soon as it can be (never sent again); one log line when it starts, one
when it ends; the heartbeat goes on, so the watchdog does not kill a waiting daemon.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from agent.backoff import Backoff
from agent.config.settings import Settings
from agent.config.texts import SERVICE_TEMPLATES, render
from agent.decide.policy import CALL_TEMPLATES, call_template, schedule_for
from agent.decide.quiet import quiet_end_for
from agent.model import (
    Counters,
    Message,
    MessageState,
    NumberFact,
    OutgoingText,
    Rejected,
    RetryLater,
    Sent,
)
from agent.numbers import mask
from agent.send.chain import ChainResult, SenderChain
from agent.send.deliveries import Deliveries
from agent.send.facts import apply_fact
from agent.store import Store, writable

log = logging.getLogger(__name__)
_T = TypeVar("_T")


OUTSIDE_WRITE_POLL_SECONDS = 2.0
STORE_WAIT_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class _Attempt:
    message: Message
    sender: str | None
    started: datetime
    now: datetime
    body: str


class Dispatcher:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        chain: SenderChain,
        clock: Callable[[], datetime],
        holidays: Callable[[int, str], set[str]] = lambda year, department: set(),
    ) -> None:
        self.settings = settings
        self.store = store
        self.chain = chain
        self.clock = clock
        self.holidays = holidays
        self._wake = asyncio.Event()
        self.last_error: dict[str, object] | None = None
        self.heartbeat_at: datetime | None = None
        self._random = random.Random()
        self._stopping = False
        self.counters = Counters()  # the number facts it applied from refusals
        self._task: asyncio.Task[None] | None = None
        self._stopped = asyncio.Event()
        self.store_blocked: str | None = None

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Send until `stop()`. Wakes on `wake()` or when the next message is due."""
        self._task = asyncio.current_task()
        self._stopped.clear()  # a run again after a failure (the supervisor restarts it)
        try:
            while not self._stopping:
                self.heartbeat_at = self.clock()
                try:
                    await self.run_once()
                except sqlite3.OperationalError as err:
                    if writable.classify(err) is None:
                        raise
                    await self._wait_for_store(err)
                    continue
                self._store_back()
                if not self._stopping:
                    await self._sleep_until_due()
        finally:
            self._stopped.set()

    async def _wait_for_store(self, err: BaseException) -> None:
        kind = writable.classify(err)
        if self.store_blocked is None:
            log.error("the store is %s (%s): no text is claimed until it takes writes", kind, err)
        self.store_blocked = kind
        self.heartbeat_at = self.clock()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), STORE_WAIT_SECONDS)
        self._wake.clear()

    def _store_back(self) -> None:
        if self.store_blocked is not None:
            log.warning("the store takes writes again: texts are claimed again")
            self.store_blocked = None

    async def _written(self, write: Callable[[], Awaitable[_T]]) -> _T:
        """A write about a claimed text, retried while the store is full or read-only:
        the text is in hand (maybe already sent); giving up would resend it."""
        while True:
            try:
                result = await write()
            except sqlite3.OperationalError as err:
                if writable.classify(err) is None:
                    raise
                if self.store_blocked is None:
                    log.error("the store cannot be written (%s): holding a text's result", err)
                self.store_blocked = writable.classify(err)
                self.heartbeat_at = self.clock()
                await asyncio.sleep(STORE_WAIT_SECONDS)
                continue
            return result

    async def stop(self, deadline: float) -> None:
        """Let the text in hand finish (up to `deadline` seconds), then stop."""
        self._stopping = True
        self._wake.set()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(self._stopped.wait(), deadline)
        except TimeoutError:
            log.warning("dispatcher did not finish its send within %.0fs: cancelling", deadline)
            self._task.cancel()

    async def run_once(self) -> int:
        """Send everything due now; returns how many messages were handled."""
        handled = 0
        while not self._stopping:
            batch = await self.store.claim_due(self.clock(), limit=1)
            if not batch:
                break
            for message in batch:
                await self._handle(message)
                handled += 1
            # a backlog is a busy loop, not a dead one: the watchdog must keep seeing it
            self.heartbeat_at = self.clock()
        return handled

    async def _sleep_until_due(self) -> None:
        """Until `wake()`, the next due time (30 s at most), or another process wrote
        to the store (`ringback outbox retry` from a shell): SQLite's `data_version`
        changes on every commit of another connection, polled every 2 s."""
        self._wake.clear()
        due = await self.store.next_due_at()
        timeout = 30.0
        if due is not None:
            timeout = min(timeout, max(0.0, (due - self.clock()).total_seconds()))
        version = await self.store.scalar("PRAGMA data_version")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (left := deadline - loop.time()) > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), min(left, OUTSIDE_WRITE_POLL_SECONDS))
                return
            if await self.store.scalar("PRAGMA data_version") != version:
                return

    async def _handle(self, message: Message) -> None:
        now = self.clock()
        reason = await self._withdraw_reason(message, now)
        quiet_end = self._quiet_end(message, now)
        if not reason:
            quiet_end = await self._unreachable_until(message, now, quiet_end)
        if not reason and quiet_end is not None and quiet_end >= message.expires_at:
            reason = "too_old"
        if reason:
            await self._written(lambda: self.store.suppress(message.id, reason, now))
            log.info("message_id=%d suppressed: %s", message.id, reason)
            return
        if quiet_end is not None:
            await self._written(lambda: self.store.defer_claimed(message.id, quiet_end, now))
            log.info("message_id=%d deferred to %s", message.id, quiet_end)
            return
        body = message.body or await self._render_now(message, now)
        if not body:
            return
        text = OutgoingText(
            message.id, message.to_e164, body, message.attempts, resume=message.resume
        )
        outcome = await self.chain.send(text, only=self._pinned(message))
        await self._record(message, body, outcome, now)

    def _pinned(self, message: Message) -> str | None:
        """The one sender a text must leave through: the one part of it already left
        through (only it can finish it), else a thread's reply goes through the sender
        that reached the caller first (`via`) while that sender is still configured."""
        if message.resume:
            return message.sender
        if message.via is not None and message.via in self.chain.names:
            return message.via
        return None

    async def _withdraw_reason(self, message: Message, now: datetime) -> str:
        if now >= message.expires_at:
            return "too_old"
        incapable, _ = await self.store.texting_facts(message.to_e164)
        if incapable:  # a provider said it takes no texts: no text of any kind
            return "sms_incapable"
        if message.template in SERVICE_TEMPLATES:
            return ""
        if await self.store.is_opted_out(message.to_e164):
            return "opted_out"
        called_at = await self._call_ended_at(message)
        if called_at and await self.store.answered_between(message.to_e164, called_at, now):
            return "recovered"
        return ""

    async def _unreachable_until(
        self, message: Message, now: datetime, quiet_end: datetime | None
    ) -> datetime | None:
        """The later of the quiet hours' end and the time until which a provider said
        the number is unreachable (a HELP or STOP answer is not held back)."""
        if message.template in SERVICE_TEMPLATES:
            return quiet_end
        _, until = await self.store.texting_facts(message.to_e164)
        if until is None or until <= now:
            return quiet_end
        return until if quiet_end is None else max(until, quiet_end)

    def _quiet_end(self, message: Message, now: datetime) -> datetime | None:
        """When quiet hours hold now (a late or retried text), at the site or where
        the caller is, the time they end there.
        A HELP reply or STOP confirmation answers the caller's own text and is not
        held back."""
        if message.template in SERVICE_TEMPLATES:
            return None
        return quiet_end_for(self.settings, message.to_e164, now)

    async def _call_ended_at(self, message: Message) -> datetime | None:
        if message.call_id is None:
            return None
        value = await self.store.scalar(
            "SELECT ended_at FROM calls WHERE id = ?", (message.call_id,)
        )
        return datetime.fromisoformat(value) if value else None

    async def _render_now(self, message: Message, now: datetime) -> str:
        """The text as it reads now; "" when it was withdrawn because the department
        has no text for its state now."""
        local = now.astimezone(self.settings.site.tz)
        department = message.department
        holidays = self.holidays(local.year, department) | self.holidays(local.year + 1, department)
        schedule = schedule_for(message.department, self.settings, local, holidays)
        template = message.template
        if template in CALL_TEMPLATES:
            template, has_text = call_template(schedule, self.settings)
            if not has_text:
                reason = f"{template}_no_template"
                await self.store.suppress(message.id, reason, now)
                log.info("message_id=%d suppressed at send time: %s", message.id, reason)
                return ""
            if template != message.template:
                await self.store.set_template(message.id, template)
                log.info(
                    "message_id=%d template %s -> %s: the department's state changed",
                    message.id,
                    message.template,
                    template,
                )
        return render(
            self.settings,
            message.department,
            template,
            message.language,
            schedule.next_opening,
            local,
        )

    async def _record(
        self, message: Message, body: str, outcome: ChainResult, started: datetime
    ) -> None:
        result, now = outcome.result, self.clock()
        attempt = _Attempt(message, outcome.sender, started, now, body)
        if isinstance(result, Sent):
            await self._finish(attempt, MessageState.SENT, "sent", provider_id=result.provider_id)
            log.info(
                "message_id=%d sent driver=%s to=%s",
                message.id,
                outcome.sender,
                mask(message.to_e164),
            )
        elif isinstance(result, Rejected):
            await self._rejected(attempt, result)
        else:
            await self._retry(attempt, result)
        await self._retry_facts(message, outcome, now)

    async def _finish(
        self,
        attempt: _Attempt,
        state: MessageState,
        label: str,
        detail: str = "",
        provider_id: str | None = None,
        not_before: datetime | None = None,
        resume: str | None = None,
    ) -> None:
        async def unit() -> None:
            await self.store.finish(
                attempt.message.id,
                state=state,
                sender=attempt.sender,
                started_at=attempt.started,
                now=attempt.now,
                result=label,
                detail=detail,
                body=attempt.body,
                provider_id=provider_id,
                not_before=not_before,
                resume=resume,
            )
            if provider_id and attempt.sender:  # reports that came before this moment
                await Deliveries(self.store, self.counters, self.clock).adopt(
                    attempt.message.id, attempt.sender, provider_id
                )

        await self._written(lambda: self.store.atomic(unit))

    async def _rejected(self, attempt: _Attempt, result: Rejected) -> None:
        message = attempt.message
        await self._finish(attempt, MessageState.FAILED, "rejected", result.reason)
        self._note_error(message, attempt.sender, "permanent", result.reason)
        if result.opt_out:
            await self._written(
                lambda: self.store.set_opt_out(
                    message.to_e164, "provider", attempt.sender or "", attempt.now
                )
            )
        if result.fact is not None and result.fact is not NumberFact.OPTED_OUT:
            await apply_fact(
                self.store,
                self.counters,
                message.to_e164,
                result.fact,
                origin=attempt.sender or "",
                now=attempt.now,
                code=result.code,
                detail=result.reason,
            )
        log.warning(
            "message_id=%d rejected driver=%s: %s", message.id, attempt.sender, result.reason
        )

    async def _retry_facts(self, message: Message, outcome: ChainResult, now: datetime) -> None:
        """What a sender's `RetryLater` said about the number or our own sending
        (Twilio 30007/30034 at create time: `filtered`, 30003/30005: `unreachable`),
        stored as the delivery report would have stored it, even when a later sender
        of the chain took the text."""
        for sender, result in outcome.tried:
            if isinstance(result, RetryLater) and result.fact is not None:
                await apply_fact(
                    self.store,
                    self.counters,
                    message.to_e164,
                    result.fact,
                    origin=sender,
                    now=now,
                    code=result.code,
                    detail=result.reason,
                )

    async def _retry(self, attempt: _Attempt, result: RetryLater) -> None:
        message, retry = attempt.message, self.settings.sms.retry
        jittered = Backoff(retry.first_seconds, low=0.8, high=1.2)
        # The cap holds after the jitter; a wait the sender asked for (Retry-After) wins.
        wait = max(
            result.after, min(retry.max_seconds, jittered.delay(message.attempts, self._random))
        )
        next_at = attempt.now + timedelta(seconds=wait)
        if result.ambiguous:
            state, label = MessageState.UNKNOWN, "unknown"
        elif message.attempts >= retry.max_attempts or next_at >= message.expires_at:
            state, label = MessageState.FAILED, "gave_up"
        else:
            state, label = MessageState.RETRY_WAIT, "retry"
        await self._finish(
            attempt, state, label, result.reason, not_before=next_at, resume=result.resume
        )
        kind = "ambiguous" if result.ambiguous else "transient"
        self._note_error(message, attempt.sender, kind, result.reason)
        log.warning(
            "message_id=%d %s after attempt %d: %s",
            message.id,
            state.value,
            message.attempts,
            result.reason,
        )

    def _note_error(self, message: Message, sender: str | None, kind: str, reason: str) -> None:
        self.last_error = {
            "at": self.clock(),
            "channel": sender,
            "message_id": message.id,
            "to_last2": message.to_e164[-2:],
            "class": kind,
            "message": reason,
        }
