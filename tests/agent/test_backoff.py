"""The one backoff of in-process retries (agent/backoff.py)."""

from __future__ import annotations

import random

import pytest

from agent.backoff import Backoff, Retries


def test_delays_double_from_first_up_to_the_cap() -> None:
    """Pins the schedule: first, 2x, 4x ... then the cap, attempt counted from 1 (an
    attempt of 0 or less is the first delay)."""
    backoff = Backoff(0.5, 4.0)
    assert [backoff.delay(n) for n in range(0, 7)] == [0.5, 0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert Backoff(1.0).delay(10_000) > 1e18  # no cap: huge, still a finite float


def test_jitter_scales_each_delay_within_its_bounds() -> None:
    """Pins the jitter: every delay is the capped ceiling times a factor in
    [low, high], drawn from the given generator (same seed, same delays)."""
    backoff = Backoff(2.0, 60.0, 0.5, 1.0)
    draws = [backoff.delay(n, random.Random(n)) for n in range(1, 9)]
    for n, value in enumerate(draws, start=1):
        ceiling = min(60.0, 2.0 * 2 ** (n - 1))
        assert ceiling / 2 <= value <= ceiling
    assert draws == [backoff.delay(n, random.Random(n)) for n in range(1, 9)]
    assert len(set(draws)) == len(draws)


def test_retries_count_failures_and_reset() -> None:
    """Pins the stateful form: `next()` after each failure walks the schedule,
    `reset()` after a success starts it again."""
    retries = Retries(Backoff(0.5, 2.0))
    assert [retries.next() for _ in range(4)] == [0.5, 1.0, 2.0, 2.0]
    retries.reset()
    assert retries.next() == pytest.approx(0.5)
