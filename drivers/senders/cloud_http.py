"""What the cloud senders share: the verdict vocabulary, transport failures, Retry-After,
backoff with jitter and the health they report.

Transport failures are named events so that each sender's error table can map them
like HTTP statuses:

    connect_error   DNS failure, refused, unreachable, TLS handshake: never reached the peer
    connect_timeout the TCP connect did not finish in time: never reached the peer
    pool_timeout    no connection slot free: never left this process
    write_error     the request was cut while being written (may have arrived)
    read_timeout    sent, no answer in time: the peer may have acted on it
    read_error      sent, then the connection reset or closed mid-answer
    protocol_error  sent, then an answer that is not HTTP or was truncated
"""

from __future__ import annotations

import email.utils
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tenacity import RetryCallState

from agent.backoff import Backoff
from agent.client_tls import client_tls
from agent.model import (
    Counters,
    Health,
    HealthState,
    NumberFact,
    Rejected,
    RetryLater,
    SendResult,
)

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)


class Verdict(StrEnum):
    """What one row of an error table decides."""

    SENT = "sent"
    REJECT = "reject"  # Rejected: this number will never get it
    OPT_OUT = "opt_out"  # Rejected(opt_out=True)
    ALARM = "alarm"  # configuration problem: RetryLater, queue kept, health DOWN
    RETRY = "retry"  # RetryLater, provably not acted on: the next sender may try
    AMBIGUOUS = "ambiguous"  # RetryLater(ambiguous=True): it may have left


@dataclass(frozen=True, slots=True)
class Rule:
    """One row: the verdict, a stable reason and a default wait (seconds)."""

    verdict: Verdict
    reason: str
    after: float = 0.0
    fact: NumberFact | None = None  # what the refusal says about the number


def transport_event(err: httpx.TransportError) -> str:
    import httpx  # imported already: `err` is one of its errors

    """The event name of an httpx transport failure (see the module docstring)."""
    if isinstance(err, httpx.ConnectTimeout):
        return "connect_timeout"
    if isinstance(err, httpx.PoolTimeout):
        return "pool_timeout"
    if isinstance(err, httpx.ConnectError):
        return "connect_error"
    if isinstance(err, httpx.ReadTimeout):
        return "read_timeout"
    if isinstance(err, httpx.WriteError | httpx.WriteTimeout):
        return "write_error"
    if isinstance(err, httpx.ReadError):
        return "read_error"
    return "protocol_error"


Key = tuple[str, int | None]


def lookup(table: Mapping[Key, Rule], status: int | str, code: int | None) -> Rule:
    """The row of an error table for an HTTP status (int) or a transport event (str)
    and a provider code, most specific first: (status, code), ("*", code),
    (status, None), ("4xx", None), ("*", None). A code matched only by a row without
    one is appended to that row's reason."""
    exact, family = (
        (str(status), f"{status // 100}xx") if isinstance(status, int) else (status,) * 2
    )
    coded = ((exact, code), ("*", code)) if code is not None else ()
    for key in (*coded, (exact, None), (family, None), ("*", None)):
        rule = table.get(key)
        if rule is None:
            continue
        if key[1] is None and code is not None:
            return Rule(rule.verdict, f"{rule.reason} (code {code})", rule.after, rule.fact)
        return rule
    raise KeyError(f"error table has no ('*', None) row for {status!r}")


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Seconds from a `Retry-After` header (delta-seconds or an HTTP date), else None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())


def in_call_wait(state: RetryCallState, cap: float) -> float:
    """Tenacity `wait` of the short in-call retries: the answer's Retry-After when it
    gave one, else exponential backoff with jitter up to `cap`."""
    answer = state.outcome.result() if state.outcome and not state.outcome.failed else None
    if isinstance(answer, Exchange) and answer.retry_after is not None:
        return answer.retry_after
    return Backoff(cap / 4, cap, 0.5, 1.0).delay(state.attempt_number)


def backoff_seconds(attempt: int, base: float = 2.0, cap: float = 60.0) -> float:
    """Exponential backoff with jitter for the store's schedule: the ceiling doubles
    with each attempt up to `cap`, the wait is drawn from [ceiling/2, ceiling]."""
    return Backoff(base, cap, 0.5, 1.0).delay(attempt)


_UNPRINTABLE = re.compile(r"[^\x20-\x7e]+")


def peer_text(value: object, limit: int = 120) -> str:
    """A peer-supplied string made safe for a reason or a log line: printable ASCII,
    bounded length."""
    text = _UNPRINTABLE.sub(" ", str(value)).strip()
    return text[:limit] + ("..." if len(text) > limit else "")


def result_of(rule: Rule, after: float | None = None, code: object = None) -> SendResult:
    """The SendResult for a non-SENT rule; `after` overrides the rule's wait; `code`
    is the provider's error code, kept on a refusal (and on a retry with a fact)."""
    wait = rule.after if after is None else after
    named = None if code is None else str(code)
    if rule.verdict is Verdict.REJECT:
        return Rejected(rule.reason, fact=rule.fact, code=named)
    if rule.verdict is Verdict.OPT_OUT:
        return Rejected(rule.reason, opt_out=True, fact=NumberFact.OPTED_OUT, code=named)
    ambiguous = rule.verdict is Verdict.AMBIGUOUS
    fact_code = named if rule.fact is not None else None
    return RetryLater(wait, rule.reason, ambiguous=ambiguous, fact=rule.fact, code=fact_code)


COUNTER_NAMES = (
    "sent",
    "rejected",
    "opt_out",
    "retry",
    "ambiguous",
    "alarm",
    "rate_limited",
    "bad_response",
    "reconciled",
)


class CloudHealth:
    """The health a cloud sender reports, updated after every send."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.counters = Counters(*COUNTER_NAMES)
        self.state = "idle"
        self.last_success_at: datetime | None = None
        self.last_http_status: int | None = None
        self.rate_limited_until: datetime | None = None
        self.alarm: str | None = None
        self.last_problem: str | None = None
        self.since: datetime | None = None
        self.degraded: str | None = None  # filtered traffic, a setup error: the fix

    def note_fact(self, fact: NumberFact | None, reason: str) -> None:
        """A refusal or a report that says our own sending is at fault (filtered,
        misconfigured): the sender is degraded, with the fix, until a text is
        delivered again (`clear_degraded`)."""
        if fact in (NumberFact.FILTERED, NumberFact.MISCONFIGURED):
            if self.degraded != reason:
                log.error("alert: %s", reason)
            self.degraded = reason

    def clear_degraded(self) -> None:
        self.degraded = None

    def record(self, result: SendResult, rule: Rule | None, now: datetime) -> None:
        """Fold one send's outcome in (rule None = sent)."""
        verdict = Verdict.SENT if rule is None else rule.verdict
        self.counters.inc(_COUNTER_OF[verdict])
        if rule is not None:
            self.note_fact(rule.fact, rule.reason)
        # the provider answered and the fault is the number's (refused, opted out, a
        # handset off for now): the sending path works
        if (
            verdict is Verdict.SENT
            or verdict is Verdict.REJECT
            or verdict is Verdict.OPT_OUT
            or (rule is not None and rule.fact is NumberFact.UNREACHABLE)
        ):
            self._set("ok", now)
            self.alarm = None
            self.last_problem = None
            if verdict is Verdict.SENT:
                self.last_success_at = now
            return
        reason = result.reason if isinstance(result, RetryLater) else ""
        self.last_problem = reason
        if verdict is Verdict.ALARM:
            self.alarm = reason
            self._set("alarm", now)
        else:
            self._set("failing", now)

    def _set(self, state: str, now: datetime) -> None:
        if state != self.state:
            self.state = state
            self.since = now

    def snapshot(self, now: datetime) -> Health:
        limited = self.rate_limited_until is not None and self.rate_limited_until > now
        if self.alarm:
            state, summary = HealthState.DOWN, f"alarm: {self.alarm}"
        elif self.degraded:
            state, summary = HealthState.DEGRADED, f"degraded: {self.degraded}"
        elif self.state == "failing" or limited:
            state, summary = HealthState.DEGRADED, self.last_problem or "rate limited"
        else:
            state, summary = HealthState.OK, "ready" if self.state == "idle" else "ok"
        details: dict[str, object] = {
            "provider": self.provider,
            "state": "rate_limited" if limited and self.state != "alarm" else self.state,
            "last_success_at": _iso(self.last_success_at),
            "last_http_status": self.last_http_status,
            "rate_limited_until": _iso(self.rate_limited_until) if limited else None,
            "alarm": self.alarm,
            "degraded": self.degraded,
        }
        return Health(state, summary, self.since, details, self.counters.snapshot())


_COUNTER_OF = {
    Verdict.SENT: "sent",
    Verdict.REJECT: "rejected",
    Verdict.OPT_OUT: "opt_out",
    Verdict.ALARM: "alarm",
    Verdict.RETRY: "retry",
    Verdict.AMBIGUOUS: "ambiguous",
}


def _iso(when: datetime | None) -> str | None:
    return when.isoformat().replace("+00:00", "Z") if when else None


def make_client(
    base_url: str,
    connect_timeout: float,
    read_timeout: float,
    auth: httpx.Auth | tuple[str, str] | None = None,
) -> httpx.AsyncClient:
    """One client per sender: redirects are not followed (they are a verdict), proxies
    come from the environment (HTTPS_PROXY, NO_PROXY) as sites behind one need.
    httpx is imported here, at the first request, not with the driver: 6 MB and a
    twentieth of a second the daemon's start need not wait for
    (tests/e2e/test_lean_start.py)."""
    import httpx

    timeout = httpx.Timeout(read_timeout, connect=connect_timeout, pool=connect_timeout)
    return httpx.AsyncClient(
        base_url=base_url,
        auth=auth,
        timeout=timeout,
        follow_redirects=False,
        headers={"User-Agent": "ringback/0.1"},
        verify=client_tls(),
    )


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request's answer: HTTP status or transport event, JSON body, Retry-After."""

    status: int | str
    data: dict[str, object] | None = None
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return isinstance(self.status, int) and 200 <= self.status < 300


def parse_json(raw: bytes) -> dict[str, object] | None:
    """The JSON object of an answer, or None when it is not one."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


async def exchange(
    client: httpx.AsyncClient,
    health: CloudHealth,
    driver: str,
    method: str,
    path: str,
    **kwargs: Any,
) -> Exchange:
    """One request; every failure becomes an `Exchange` with a transport event."""
    import httpx  # imported already, by `make_client`

    try:
        response = await client.request(method, path, **kwargs)
    except httpx.TransportError as err:
        event = transport_event(err)
        log.info("driver=%s %s failed: %s (%s)", driver, method, event, type(err).__name__)
        return Exchange(event)
    except httpx.HTTPError as err:  # a body that cannot be decoded and the like
        log.info("driver=%s %s answer unreadable: %s", driver, method, type(err).__name__)
        return Exchange("protocol_error")
    health.last_http_status = response.status_code
    data = parse_json(response.content)
    if data is None and response.content.strip():
        health.counters.inc("bad_response")
        log.warning(
            "driver=%s HTTP %d answer is not a JSON object (%d bytes)",
            driver,
            response.status_code,
            len(response.content),
        )
    wait = retry_after_seconds(response.headers.get("Retry-After"), datetime.now(UTC))
    return Exchange(response.status_code, data, wait)
