"""The chaos suite's size and seed: RINGBACK_CHAOS_SCALE (1 in CI, 10 for a long run)
and RINGBACK_CHAOS_SEED (the same seed replays the same kills and faults)."""

from __future__ import annotations

import os
import random

import pytest

SCALE = max(1, int(os.environ.get("RINGBACK_CHAOS_SCALE", "1")))
SEED = int(os.environ.get("RINGBACK_CHAOS_SEED", "15"))


@pytest.fixture
def rng() -> random.Random:
    return random.Random(SEED)
