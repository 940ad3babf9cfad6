"""The sender chain: `sms.senders` tried in order for one text.

Rules:
- `Sent` or `Rejected` from a sender ends the chain (a rejection is about the number,
  not the path: another provider would refuse it too).
- `RetryLater` tries the next sender at once, unless it is ambiguous (the text may have
  left) or carries a `resume` token (part of it left): then the chain stops, so one
  text is never delivered twice by two senders. The dispatcher sends a text with a
  resume token to that sender only (`only=`), across restarts too.
  The chain remembers that sender for the message: the next send of the same
  message goes to it first (it can look the earlier attempt up) and to no other
  sender while it still answers ambiguously or cannot be used.
- Circuit breaker: after `breaker_failures` `RetryLater` in a row a sender is benched
  for `breaker_cooldown_seconds`; then one trial send decides (a failure benches it
  again at once, a `Sent`/`Rejected` closes the breaker). Benched senders are skipped
  and reported DOWN in `health()`. `only=` (the operator naming one sender) ignores
  the bench.
- Rate limit: at most `rate_per_minute` sends to a sender in any 60 s window; a sender
  at its limit is skipped like a benched one.
- When no sender sent, the chain answers `RetryLater` with the shortest wait any
  sender asked for (or until a skipped one is usable again) and every reason joined.

Tuning is read from the sender object (`rate_per_minute`, `breaker_failures`,
`breaker_cooldown_seconds`; absent = no rate limit, 3 failures, 120 s): the cloud
senders copy them from their config, other senders get the defaults.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from agent.model import Health, HealthState, OutgoingText, RetryLater, SendResult
from drivers.base import Sender

DEFAULT_BREAKER_FAILURES = 3
DEFAULT_BREAKER_COOLDOWN_SECONDS = 120.0
_WINDOW_SECONDS = 60.0
_STICKY_KEPT = 1000


@dataclass(frozen=True, slots=True)
class ChainResult:
    """The final result, the sender that gave it, and every (sender, result) tried."""

    result: SendResult
    sender: str | None
    tried: tuple[tuple[str, SendResult], ...]


@dataclass(slots=True)
class _Gate:
    """One sender's circuit breaker and rate limiter (times from the chain's clock)."""

    failures_to_bench: int
    cooldown_seconds: float
    rate_per_minute: int | None
    failures: int = 0
    benched_until: float | None = None
    sends: deque[float] = field(default_factory=deque)

    @classmethod
    def of(cls, sender: Sender) -> _Gate:
        rate = getattr(sender, "rate_per_minute", None)
        failures = getattr(sender, "breaker_failures", None) or DEFAULT_BREAKER_FAILURES
        cooldown = getattr(sender, "breaker_cooldown_seconds", None)
        return cls(int(failures), float(cooldown or DEFAULT_BREAKER_COOLDOWN_SECONDS), rate)

    def benched_for(self, now: float) -> float:
        return max(0.0, self.benched_until - now) if self.benched_until is not None else 0.0

    def limited_for(self, now: float) -> float:
        while self.sends and self.sends[0] <= now - _WINDOW_SECONDS:
            self.sends.popleft()
        if self.rate_per_minute is None or len(self.sends) < self.rate_per_minute:
            return 0.0
        return self.sends[0] + _WINDOW_SECONDS - now

    def blocked(self, now: float, ignore_bench: bool) -> tuple[float, str] | None:
        """(seconds, why) when the sender may not be used now."""
        bench = 0.0 if ignore_bench else self.benched_for(now)
        if bench > 0:
            return bench, f"benched for {bench:.0f} s after {self.failures_to_bench} failures"
        limit = self.limited_for(now)
        if limit > 0:
            return limit, f"rate limit of {self.rate_per_minute}/min reached"
        return None

    def record(self, result: SendResult, now: float) -> None:
        self.sends.append(now)
        if not isinstance(result, RetryLater):
            self.failures, self.benched_until = 0, None
            return
        self.failures += 1
        if self.failures >= self.failures_to_bench:
            self.benched_until = now + self.cooldown_seconds
            self.failures = self.failures_to_bench - 1  # after the bench, one trial

    def breaker_state(self, now: float) -> str:
        if self.benched_until is None:
            return "closed"
        return "open" if self.benched_for(now) > 0 else "half_open"


class SenderChain:
    def __init__(
        self, senders: Sequence[Sender], *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.senders = list(senders)
        self._clock = clock
        self._gates = {s.name: _Gate.of(s) for s in self.senders}
        self._sticky: dict[int, str] = {}

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.senders]

    async def send(self, text: OutgoingText, only: str | None = None) -> ChainResult:
        candidates = [s for s in self.senders if only is None or s.name == only]
        if not candidates:
            wanted = f"sender {only!r}" if only else "any sender"
            return ChainResult(RetryLater(60.0, f"no {wanted} configured"), None, ())
        sticky = self._sticky.get(text.message_id)
        if sticky is not None and only is None:
            candidates.sort(key=lambda s: s.name != sticky)
        tried: list[tuple[str, SendResult]] = []
        skipped: list[tuple[str, RetryLater]] = []
        for sender in candidates:
            block = self._gates[sender.name].blocked(self._clock(), only is not None)
            if block is not None:
                skipped.append((sender.name, RetryLater(block[0], block[1])))
                if sender.name == sticky:
                    return self._wait_for_sticky(text, sender.name, block)
                continue
            result = await self._try(sender, text)
            tried.append((sender.name, result))
            if not isinstance(result, RetryLater) or result.ambiguous or result.resume:
                return ChainResult(result, sender.name, tuple(tried))
        return self._all_failed(tried, skipped)

    async def _try(self, sender: Sender, text: OutgoingText) -> SendResult:
        result = await sender.send(text)
        self._gates[sender.name].record(result, self._clock())
        if isinstance(result, RetryLater) and result.ambiguous:
            self._sticky[text.message_id] = sender.name
            while len(self._sticky) > _STICKY_KEPT:
                self._sticky.pop(next(iter(self._sticky)))
        elif self._sticky.get(text.message_id) == sender.name:
            del self._sticky[text.message_id]
        return result

    def _wait_for_sticky(
        self, text: OutgoingText, name: str, block: tuple[float, str]
    ) -> ChainResult:
        reason = f"{name}: {block[1]}; it must check an earlier attempt of this text first"
        return ChainResult(RetryLater(block[0], reason, ambiguous=True), None, ())

    @staticmethod
    def _all_failed(
        tried: list[tuple[str, SendResult]], skipped: list[tuple[str, RetryLater]]
    ) -> ChainResult:
        retries = [(n, r) for n, r in tried if isinstance(r, RetryLater)] + skipped
        after = min(r.after for _, r in retries)
        reason = "; ".join(f"{name}: {r.reason}" for name, r in retries)
        return ChainResult(RetryLater(after, reason), None, tuple(tried))

    def health(self) -> dict[str, Health]:
        return {s.name: self._health_of(s) for s in self.senders}

    def _health_of(self, sender: Sender) -> Health:
        own = sender.health()
        gate, now = self._gates[sender.name], self._clock()
        details = dict(own.details)
        details["breaker"] = gate.breaker_state(now)
        details["consecutive_failures"] = gate.failures
        details["rate_per_minute"] = gate.rate_per_minute
        bench = gate.benched_for(now)
        if bench <= 0:
            return replace(own, details=details)
        details["benched_seconds_left"] = round(bench, 1)
        summary = f"benched for {bench:.0f} s after repeated failures: {own.summary}"
        return replace(own, state=HealthState.DOWN, summary=summary, details=details)
