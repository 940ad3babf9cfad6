"""Fixtures of the asterisk driver tests: options, tracker, the recorded streams."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agent.model import Counters
from drivers.sources.asterisk.badinput import BadInput
from drivers.sources.asterisk.config import AsteriskConfig
from drivers.sources.asterisk.tracker import CallTracker

AMI = Path(__file__).parents[2] / "fixtures" / "ami"
SCENARIOS = sorted(p.stem for p in AMI.glob("*.ami"))


def recorded(name: str) -> tuple[bytes, dict[str, Any]]:
    expected: dict[str, Any] = json.loads((AMI / f"{name}.json").read_text(encoding="utf-8"))
    return (AMI / f"{name}.ami").read_bytes(), expected


def make_config(**overrides: Any) -> AsteriskConfig:
    options: dict[str, Any] = {"name": "pbx", "secret": "s3cret"}
    options.update(overrides)
    return AsteriskConfig(**options)


@pytest.fixture
def config() -> AsteriskConfig:
    return make_config()


@pytest.fixture
def counters() -> Counters:
    return Counters()


@pytest.fixture
def tracker(config: AsteriskConfig, counters: Counters) -> CallTracker:
    return CallTracker(config, counters, BadInput(counters, config.name))
