"""The sender chain: `sms.senders` tried in order for one text.

Rules:
- `Sent` or `Rejected` from a sender ends the chain (a rejection is about the number,
  not the path: another provider would refuse it too).
- `RetryLater` tries the next sender at once, unless it is ambiguous (the text may have
  left): then the chain stops, so one text is never delivered twice by two senders.
- When every sender asked for a retry, the chain answers `RetryLater` with the
  shortest wait any of them asked for and every reason joined.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from agent.model import Health, OutgoingText, Rejected, RetryLater, SendResult, Sent
from drivers.base import Sender


@dataclass(frozen=True, slots=True)
class ChainResult:
    """The final result, the sender that gave it, and every (sender, result) tried."""

    result: SendResult
    sender: str | None
    tried: tuple[tuple[str, SendResult], ...]


class SenderChain:
    def __init__(self, senders: Sequence[Sender]) -> None:
        self.senders = list(senders)

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.senders]

    async def send(self, text: OutgoingText, only: str | None = None) -> ChainResult:
        tried: list[tuple[str, SendResult]] = []
        for sender in self.senders:
            if only is not None and sender.name != only:
                continue
            result = await sender.send(text)
            tried.append((sender.name, result))
            if isinstance(result, Sent | Rejected):
                return ChainResult(result, sender.name, tuple(tried))
            if result.ambiguous:
                return ChainResult(result, sender.name, tuple(tried))
        if not tried:
            wanted = f"sender {only!r}" if only else "any sender"
            return ChainResult(RetryLater(60.0, f"no {wanted} configured"), None, ())
        retries = [r for _, r in tried if isinstance(r, RetryLater)]
        after = min(r.after for r in retries)
        reason = "; ".join(f"{name}: {r.reason}" for name, r in tried if isinstance(r, RetryLater))
        return ChainResult(RetryLater(after, reason), None, tuple(tried))

    def health(self) -> dict[str, Health]:
        return {s.name: s.health() for s in self.senders}
