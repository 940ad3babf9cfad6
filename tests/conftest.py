"""Shared test fixtures: paths to the recorded data, a site context, a frozen clock."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, settings

from drivers.base import SiteContext

# Property-based fuzzing of the parsers: `ci` (the default) keeps the suite fast;
# `HYPOTHESIS_PROFILE=chaos` (or `--hypothesis-profile=chaos`) runs far more examples.
settings.register_profile(
    "ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "chaos", max_examples=5000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture
def site() -> SiteContext:
    return SiteContext(name="test-site", tz=ZoneInfo("America/Toronto"), country="CA")


class FrozenClock:
    """A clock tests move by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        from datetime import timedelta

        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 11, 23, 14, 0, tzinfo=UTC))


ClockFactory = Callable[[datetime], FrozenClock]
