"""The `twilio` sender: one text = one `POST .../Messages.json`, mapped by the error
table in `twilio_codes`.

Exactly-once-ish: Twilio's create is not idempotent. A request that provably never
reached Twilio (connect error, 429) is retried freely; one that may have been acted on
(5xx, read timeout, reset, unreadable 2xx) is looked for at once with
`GET .../Messages.json?To=...`: found, it is `Sent`; not found after a 5xx (Twilio
answered, so it finished with the request and created nothing) it is a plain
`RetryLater`, safe to send again; not found after a timeout, reset or unreadable
answer (the request may still be in flight) it is `RetryLater(ambiguous=True)`.
Before a text is sent again (`attempt > 1`) the same look-up runs first.

Two-way: a poll loop owned by the sender (`twilio_poll`, every
`poll_interval_seconds`) reads replies and delivery states from the Messages list;
`webhook()` takes Twilio's status callbacks and inbound messages when they can reach
us (signature checked against `webhook_url`), and hands them over through the same
path, so a state seen twice (polled and posted) is handed over once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import partial
from types import TracebackType
from typing import Any, Self

from tenacity import AsyncRetrying, RetryCallState, retry_if_result, stop_after_attempt

from agent.model import OutgoingText, Rejected, RetryLater, SendResult, Sent
from drivers.base import SenderContext
from drivers.senders import twilio_api as api
from drivers.senders import twilio_messages as tm
from drivers.senders.cloud_http import (
    Exchange,
    Rule,
    Verdict,
    backoff_seconds,
    exchange,
    in_call_wait,
    make_client,
    result_of,
)
from drivers.senders.cloud_sender import CloudSender
from drivers.senders.twilio_codes import classify
from drivers.senders.twilio_config import TwilioConfig
from drivers.senders.twilio_poll import TwilioPoller
from drivers.senders.twilio_signature import valid

log = logging.getLogger(__name__)

_IN_CALL_RETRY = frozenset({429, "connect_error", "connect_timeout", "pool_timeout"})
_CLOCK_SKEW = timedelta(minutes=2)
_AMBIGUOUS_KEPT = 1000


class TwilioSender(CloudSender):
    """Sends through Twilio's REST API; see the module docstring for the contract."""

    kind = "twilio"

    def __init__(self, config: TwilioConfig, context: SenderContext) -> None:
        super().__init__(config, context)
        self._config = config
        self._context = context
        self._ambiguous: dict[int, datetime] = {}
        self._poller = TwilioPoller(config, context, self._exchange, self._health)
        self._poll_task: asyncio.Task[None] | None = None
        self._posted: dict[tuple[str, str, str | None], None] = {}
        for name in ("webhook_forged", "webhook_replayed", "webhook_bad"):
            self._health.counters.inc(name, 0)

    async def __aenter__(self) -> Self:
        token = self._config.auth_token
        assert token is not None  # required_secrets guarantees it
        auth = (self._config.account_sid, token.get_secret_value())  # HTTP basic auth
        self._make_client = partial(
            make_client,
            str(self._config.base_url).rstrip("/"),
            self._config.connect_timeout_seconds,
            self._config.read_timeout_seconds,
            auth,
        )
        if self._config.poll_interval_seconds > 0:
            self._poll_task = asyncio.create_task(
                self._poller.run(), name=f"twilio-poll:{self.name}"
            )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._poll_task is not None:
            self._poll_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poll_task
            self._poll_task = None
        await super().__aexit__(exc_type, exc, tb)

    async def poll_once(self) -> float:
        """One poll round now (tests, `ringback doctor`); the seconds to the next."""
        return await self._poller.poll_once()

    # --- webhooks -------------------------------------------------------------------

    async def webhook(self, form: Mapping[str, str], headers: Mapping[str, str]) -> int:
        """A status callback or an inbound message posted by Twilio (see
        `drivers.base.WebhookReceiver`)."""
        url, token = self._config.webhook_url, self._config.auth_token
        if url is None or token is None:
            return 404
        signature = headers.get("x-twilio-signature")
        account = form.get("AccountSid")
        if not valid(str(url), form, token.get_secret_value(), signature) or account not in (
            None,
            self._config.account_sid,
        ):
            self._health.counters.inc("webhook_forged")
            log.warning("driver=%s webhook refused: bad X-Twilio-Signature", self.name)
            return 403
        now = self._clock()
        if form.get("MessageStatus") or (form.get("SmsStatus") not in (None, "received")):
            report = tm.form_report(self.name, form, now)
            if report is None:
                return self._bad_webhook("a status callback without a SID or a known status")
            if self._replayed((report.provider_id, report.state.value, report.error_code)):
                return 403
            await self._poller.hand_report(report)  # False: the poll saw it first
            return 200
        text = tm.form_inbound(self.name, form, now)
        if text is None or text.provider_id is None:
            return self._bad_webhook("an inbound message without a SID or a sender")
        if self._replayed((text.provider_id, "received", None)):
            return 403
        media_only = not text.body.strip() and text.media > 0
        await self._poller.hand_inbound(
            text.provider_id, lambda: self._context.on_inbound(text), media_only
        )
        return 200

    def _replayed(self, key: tuple[str, str, str | None]) -> bool:
        """True for a post this sender already took (same SID, status and code): a
        replay, refused (403) and counted. The same state first seen by the poll is
        not a replay: Twilio posts what the poll may read first. Twilio signs no
        timestamp, so this is the replay guard (the store's forward-only state and
        received ids hold it across restarts)."""
        if key in self._posted:
            self._health.counters.inc("webhook_replayed")
            log.warning("driver=%s webhook refused: a replay of %s", self.name, key[1])
            return True
        self._posted[key] = None
        while len(self._posted) > _AMBIGUOUS_KEPT * 5:
            self._posted.pop(next(iter(self._posted)))
        return False

    def _bad_webhook(self, what: str) -> int:
        self._health.counters.inc("webhook_bad")
        log.warning("driver=%s webhook: %s", self.name, what)
        return 400

    async def _send(self, text: OutgoingText) -> tuple[SendResult, Rule | None]:
        if not self._opened():
            return self._not_started()
        if text.attempt > 1 or text.message_id in self._ambiguous:
            earlier = await self._reconcile(text)
            if earlier is not None:
                return earlier
            self._ambiguous.pop(text.message_id, None)  # looked up: it never arrived
        result, rule, status = await self._create(text)
        if isinstance(result, RetryLater) and result.ambiguous:
            self._ambiguous.setdefault(text.message_id, self._clock())
            earlier = await self._reconcile(text)
            if earlier is not None and isinstance(earlier[0], Sent):
                return earlier
            if earlier is None and isinstance(status, int) and 500 <= status <= 599:
                return self._not_created(text, result, rule)
        return result, rule

    def _not_created(
        self, text: OutgoingText, result: RetryLater, rule: Rule | None
    ) -> tuple[SendResult, Rule | None]:
        """A 5xx answer and a look-up that found no message: Twilio created nothing,
        so the text is provably not sent and may be retried (here or elsewhere)."""
        self._ambiguous.pop(text.message_id, None)
        reason = f"{result.reason}; no message was created (looked up)"
        plain = Rule(Verdict.RETRY, reason, rule.after if rule else result.after)
        return RetryLater(result.after, reason), plain

    # --- create ---------------------------------------------------------------------

    async def _create(self, text: OutgoingText) -> tuple[SendResult, Rule | None, int | str | None]:
        """The result, its rule and the answer's status (an HTTP status or a transport
        event name; None when Twilio created the message)."""
        assert self._client is not None
        form = api.create_form(self._config, text)
        path = api.messages_path(self._config)
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._config.retry_attempts),
            wait=self._in_call_wait,
            retry=retry_if_result(self._retry_in_call),
            retry_error_callback=lambda state: state.outcome.result() if state.outcome else None,
        )
        answer: Exchange = await retrying(self._exchange, "POST", path, data=form)
        if answer.ok:
            sid = api.message_sid(answer.data)
            if sid is not None:
                return Sent(sid), None, None
            answer = Exchange("2xx_unreadable")
        code = api.error_code(answer.data)
        rule = classify(answer.status, code)
        return result_of(rule, self._wait_for(rule, answer, text), code), rule, answer.status

    def _retry_in_call(self, answer: Exchange) -> bool:
        if answer.status not in _IN_CALL_RETRY:
            return False
        return (
            answer.retry_after is None or answer.retry_after <= self._config.retry_max_wait_seconds
        )

    def _in_call_wait(self, state: RetryCallState) -> float:
        return in_call_wait(state, self._config.retry_max_wait_seconds)

    def _wait_for(self, rule: Rule, answer: Exchange, text: OutgoingText) -> float:
        if answer.status != 429 and api.error_code(answer.data) != 20429:
            return rule.after
        after = answer.retry_after
        if after is None:
            after = backoff_seconds(text.attempt)
        self._health.rate_limited_until = self._clock() + timedelta(seconds=after)
        return after

    # --- reconciliation -------------------------------------------------------------

    async def _reconcile(self, text: OutgoingText) -> tuple[SendResult, Rule | None] | None:
        """Sent(earlier sid), a RetryLater when the lookup fails, None when not found."""
        assert self._client is not None
        params = api.lookup_params(text)
        answer = await self._exchange("GET", api.messages_path(self._config), params=params)
        if answer.ok and answer.data is not None and isinstance(answer.data.get("messages"), list):
            sid = api.find_earlier(answer.data, self._config, text, self._since(text))
            if sid is None:
                return None
            self._health.counters.inc("reconciled")
            log.info(
                "driver=%s message_id=%d found sent earlier as %s", self.name, text.message_id, sid
            )
            return Sent(sid), None
        failed = classify(
            answer.status if not answer.ok else "2xx_unreadable", api.error_code(answer.data)
        )
        verdict = Verdict.ALARM if failed.verdict is Verdict.ALARM else Verdict.RETRY
        if text.message_id in self._ambiguous and verdict is Verdict.RETRY:
            verdict = Verdict.AMBIGUOUS
        rule = Rule(
            verdict,
            f"cannot check for an earlier attempt: {failed.reason}",
            max(failed.after, 30.0),
        )
        return result_of(rule), rule

    def _since(self, text: OutgoingText) -> datetime:
        first = self._ambiguous.get(text.message_id)
        if first is not None:
            return first - _CLOCK_SKEW
        return self._clock() - timedelta(seconds=self._config.reconcile_lookback_seconds)

    # --- transport ------------------------------------------------------------------

    async def _exchange(self, method: str, path: str, **kwargs: Any) -> Exchange:
        if not self._opened() or self._client is None:
            raise RuntimeError(f"sender {self.name} used outside `async with`")
        return await exchange(self._client, self._health, self.name, method, path, **kwargs)

    # --- bookkeeping ----------------------------------------------------------------

    def _after(self, text: OutgoingText, result: SendResult) -> SendResult:
        if isinstance(result, Sent | Rejected):
            self._ambiguous.pop(text.message_id, None)
        while len(self._ambiguous) > _AMBIGUOUS_KEPT:
            self._ambiguous.pop(next(iter(self._ambiguous)))
        return result
