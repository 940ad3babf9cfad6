"""One backoff for in-process retries: capped exponential delays, optionally jittered.

Every loop that waits before trying again inside the process (a PBX link, a modem
port, a cloud call, the store's write of a call, the heartbeat, the staffing alert
webhook) takes its delay from a `Backoff`: `first`, `2 x first`, `4 x first`... up to
`cap`, each scaled by a factor drawn from `[low, high]` (no jitter when both are 1).
The retry schedule across attempts and restarts is not this: it lives in the store.
Part of the vocabulary: imports nothing of ours, so `agent` and `drivers` both may.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

_MAX_DOUBLINGS = 64  # 2**64 x anything is past every cap; keeps the float finite


@dataclass(frozen=True, slots=True)
class Backoff:
    """The delay before try `attempt + 1`, for `attempt` = 1, 2, 3... failed tries."""

    first: float
    cap: float = math.inf
    low: float = 1.0
    high: float = 1.0

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        doublings: int = min(max(attempt - 1, 0), _MAX_DOUBLINGS)
        ceiling: float = min(self.cap, self.first * float(2**doublings))
        if self.low == self.high == 1.0:
            return ceiling
        factor: float = (rng or _RNG).uniform(self.low, self.high)
        return ceiling * factor


@dataclass(slots=True)
class Retries:
    """A `Backoff` that counts the failed tries itself: `next()` after a failure,
    `reset()` after a success."""

    backoff: Backoff
    rng: random.Random = field(default_factory=random.Random)
    failures: int = 0

    def next(self) -> float:
        self.failures += 1
        return self.backoff.delay(self.failures, self.rng)

    def reset(self) -> None:
        self.failures = 0


_RNG = random.Random()
