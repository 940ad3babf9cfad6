"""Fixtures of the case tests: the core tests' dealership (Service 30 min, Sales 10
min, Parts 60 min of SLA), a store, and a pipeline with its case keeper on a frozen
clock."""

from __future__ import annotations

import pytest

from agent.cases.keeper import CaseKeeper
from agent.config.settings import Settings
from agent.decide.pipeline import Pipeline
from agent.store import Store
from tests.agent.conftest import SettingsFactory, clock_at, dealership_yaml, make_settings, store
from tests.conftest import FrozenClock

__all__ = ["dealership_yaml", "make_settings", "store"]

SLA = {
    "departments": {
        "service": {"sla_minutes": 30},
        "sales": {"sla_minutes": 10},
        "parts": {"sla_minutes": 60},
    }
}


@pytest.fixture
def settings(make_settings: SettingsFactory) -> Settings:
    return make_settings(**SLA)


def pipeline_at(settings: Settings, store: Store, when: str) -> tuple[Pipeline, FrozenClock]:
    clock = clock_at(when)
    pipeline = Pipeline(settings, store, clock)
    pipeline.cases = CaseKeeper(settings, store, pipeline.holiday_dates)
    return pipeline, clock
