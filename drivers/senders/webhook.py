"""The `webhook` sender: a signed JSON POST to an endpoint the site or the vendor runs.

The receiver contract (also in config/sections/senders-webhook.yaml):
- body `{"message_id", "to", "body", "attempt", "site", "created_at"}`, UTF-8 JSON;
- `Idempotency-Key: <site>:<message id>`, the same on every retry of one text: the
  receiver must deliver a key once;
- `X-Ringback-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>`;
- answer 2xx when it took the text (optionally `{"id": "..."}`), 4xx when it never
  will, 429 or 503 when it did not take it and may later; any other 5xx or no answer
  counts as "may have taken it": retried here with the same key, never handed to
  another sender.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from collections.abc import Mapping
from datetime import timedelta
from functools import partial
from typing import Self

from tenacity import AsyncRetrying, RetryCallState, retry_if_result, stop_after_attempt

from agent.model import OutgoingText, RetryLater, SendResult, Sent
from drivers.base import SenderContext
from drivers.senders.cloud_http import (
    Exchange,
    Key,
    Rule,
    Verdict,
    exchange,
    in_call_wait,
    lookup,
    make_client,
    peer_text,
    result_of,
)
from drivers.senders.cloud_sender import CloudSender
from drivers.senders.webhook_config import WebhookConfig

log = logging.getLogger(__name__)

REJ, ALM, RTY, AMB = Verdict.REJECT, Verdict.ALARM, Verdict.RETRY, Verdict.AMBIGUOUS

WEBHOOK_TABLE: Mapping[Key, Rule] = {
    ("4xx", None): Rule(REJ, "webhook refused the text"),
    ("401", None): Rule(ALM, "webhook HTTP 401: signature or credentials refused", 60.0),
    ("403", None): Rule(ALM, "webhook HTTP 403: forbidden", 60.0),
    ("404", None): Rule(ALM, "webhook HTTP 404: check url", 60.0),
    ("405", None): Rule(ALM, "webhook HTTP 405: check url", 60.0),
    ("410", None): Rule(ALM, "webhook HTTP 410: endpoint gone", 60.0),
    ("3xx", None): Rule(ALM, "webhook answered a redirect (check url)", 300.0),
    ("408", None): Rule(RTY, "webhook HTTP 408: request timeout", 10.0),
    ("429", None): Rule(RTY, "webhook HTTP 429: rate limited", 30.0),
    ("503", None): Rule(RTY, "webhook HTTP 503: unavailable", 30.0),
    ("5xx", None): Rule(AMB, "webhook server error", 30.0),
    ("connect_error", None): Rule(RTY, "webhook unreachable (DNS, refused or TLS)", 30.0),
    ("connect_timeout", None): Rule(RTY, "webhook connect timed out", 30.0),
    ("pool_timeout", None): Rule(RTY, "webhook client busy", 5.0),
    ("read_timeout", None): Rule(AMB, "webhook did not answer in time", 30.0),
    ("read_error", None): Rule(AMB, "webhook connection lost after sending", 30.0),
    ("write_error", None): Rule(AMB, "webhook connection lost while sending", 30.0),
    ("protocol_error", None): Rule(AMB, "webhook answer truncated or not HTTP", 30.0),
    ("*", None): Rule(RTY, "webhook answered an unexpected status", 60.0),
}

_KEY_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def classify(status: int | str) -> Rule:
    """The row for an HTTP status or a transport event (the reason names the status)."""
    rule = lookup(WEBHOOK_TABLE, status, None)
    if isinstance(status, int) and str(status) not in rule.reason:
        return Rule(rule.verdict, f"{rule.reason} (HTTP {status})", rule.after)
    return rule


def signature(secret: bytes, body: bytes) -> str:
    """`sha256=<hex>`: the value of the signature header for a raw body."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


class WebhookSender(CloudSender):
    """Posts each text to `url`; see the module docstring for the receiver contract."""

    kind = "webhook"

    def __init__(self, config: WebhookConfig, context: SenderContext) -> None:
        super().__init__(config, context)
        self._config = config
        self._ambiguous: set[int] = set()  # messages that may have arrived already

    async def __aenter__(self) -> Self:
        self._make_client = partial(
            make_client, "", self._config.connect_timeout_seconds, self._config.read_timeout_seconds
        )
        return self

    async def _send(self, text: OutgoingText) -> tuple[SendResult, Rule | None]:
        if not self._opened():
            return self._not_started()
        body = self._body(text)
        answer = await self._post(body, self._headers(text, body))
        if answer.ok:
            return Sent(self._provider_id(answer, text)), None
        rule = classify(answer.status)
        if rule.verdict is REJ and answer.data:
            said = answer.data.get("error") or answer.data.get("reason")
            if said:
                rule = Rule(REJ, f"{rule.reason}: {peer_text(said)}")
        after = answer.retry_after if answer.retry_after is not None else rule.after
        if answer.status == 429:
            self._health.rate_limited_until = self._site.clock() + _seconds(after)
        return result_of(rule, after), rule

    def _after(self, text: OutgoingText, result: SendResult) -> SendResult:
        """Once an attempt may have arrived, every later failure of that text is
        ambiguous too: only this receiver (same key) may take it, no other sender."""
        if not isinstance(result, RetryLater):
            self._ambiguous.discard(text.message_id)
            return result
        if result.ambiguous:
            if len(self._ambiguous) >= 1000:
                self._ambiguous.pop()
            self._ambiguous.add(text.message_id)
            return result
        if text.message_id in self._ambiguous:
            reason = f"{result.reason} (an earlier attempt may have arrived)"
            return RetryLater(result.after, reason, ambiguous=True)
        return result

    def _body(self, text: OutgoingText) -> bytes:
        payload = {
            "message_id": text.message_id,
            "to": text.to_e164,
            "body": text.body,
            "attempt": text.attempt,
            "site": self._site.name,
            "created_at": self._site.clock().isoformat().replace("+00:00", "Z"),
        }
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()

    def _headers(self, text: OutgoingText, body: bytes) -> dict[str, str]:
        secret = self._config.secret
        assert secret is not None  # required_secrets guarantees it
        key = f"{_KEY_UNSAFE.sub('-', self._site.name)}:{text.message_id}"
        return {
            "Content-Type": "application/json",
            self._config.idempotency_header: key,
            self._config.signature_header: signature(secret.get_secret_value().encode(), body),
        }

    async def _post(self, body: bytes, headers: dict[str, str]) -> Exchange:
        assert self._client is not None
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._config.retry_attempts),
            wait=self._in_call_wait,
            retry=retry_if_result(self._retry_in_call),
            retry_error_callback=lambda state: state.outcome.result() if state.outcome else None,
        )
        answer: Exchange = await retrying(
            exchange,
            self._client,
            self._health,
            self.name,
            "POST",
            str(self._config.url),
            content=body,
            headers=headers,
        )
        return answer

    def _retry_in_call(self, answer: Exchange) -> bool:
        """Same key, so even an ambiguous failure may be retried here, briefly."""
        if answer.ok or classify(answer.status).verdict not in (RTY, AMB):
            return False
        wait = answer.retry_after
        return wait is None or wait <= self._config.retry_max_wait_seconds

    def _in_call_wait(self, state: RetryCallState) -> float:
        return in_call_wait(state, self._config.retry_max_wait_seconds)

    def _provider_id(self, answer: Exchange, text: OutgoingText) -> str:
        given = answer.data.get("id") if answer.data else None
        if isinstance(given, str | int) and not isinstance(given, bool) and str(given):
            return peer_text(given, 64)
        return f"webhook-{text.message_id}-{text.attempt}"


def _seconds(value: float) -> timedelta:
    return timedelta(seconds=value)
