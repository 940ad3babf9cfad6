"""Fixtures of the core tests: a realistic Quebec dealership config, a store, calls.

Times: the site is in America/Toronto (Montreal time). 2026-11-23 is a Monday.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from agent.config.settings import Settings, load_text
from agent.model import CallRecord, Direction, Outcome
from agent.store import Store
from tests.conftest import FrozenClock

TZ = ZoneInfo("America/Toronto")

WEEKDAYS = "07:30-12:00, 13:00-17:30"

DEALERSHIP: dict[str, Any] = {
    "site": {
        "name": "Garage Laval",
        "timezone": "America/Toronto",
        "country": "CA",
        "province": "QC",
        "callback_number": "514-555-0100",
        "booking_url": "https://garage.example/rdv",
        "holidays": ["2026-12-24"],
    },
    "pbx": [{"type": "replay", "name": "pbx"}],
    "departments": {
        "default": "service",
        "did_languages": {"5145550199": "en"},
        "service": {
            "label": "service",
            "dids": ["5145550102"],
            "queues": ["service"],
            "ivr_keys": ["2"],
            "extensions": ["201", "202"],
            "hours": {d: WEEKDAYS for d in ("mon", "tue", "wed", "thu", "fri")}
            | {"sat": "08:00-12:00"},
        },
        "sales": {
            "label": "ventes",
            "dids": ["5145550101"],
            "ivr_keys": ["1", "32"],
            "extensions": ["101", "102"],
            "hours": {d: "09:00-21:00" for d in ("mon", "tue", "wed", "thu")},
            "templates": {"after_hours": None},
        },
        "parts": {
            "label": "pièces",
            "language": "en",
            "ivr_keys": ["3"],
            "extensions": ["301"],
            "hours": {d: "08:00-17:00" for d in ("mon", "tue", "wed", "thu", "fri")},
        },
    },
    "sms": {
        "grace_seconds": 90,
        "quiet_hours": "21:00-08:00",
        "dedup_window_hours": 24,
        "max_age_minutes": 240,
        "per_number_daily_cap": 2,
        "global_hourly_cap": 60,
        "blocklist": ["+1 514 555 0666"],
        "retry": {"first_seconds": 30, "max_seconds": 600, "max_attempts": 4},
        "senders": [{"type": "log", "name": "dry-run", "print": False}],
    },
}


def merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """`base` with `over` merged in, mapping by mapping; `{}` or a non-mapping replaces."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and value and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


SettingsFactory = Callable[..., Settings]


@pytest.fixture
def dealership_yaml(tmp_path: Path) -> Callable[..., str]:
    def make(**sections: Any) -> str:
        data = merged(DEALERSHIP, sections)
        data.setdefault("storage", {"path": str(tmp_path / "ringback.db")})
        return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)

    return make


@pytest.fixture
def make_settings(tmp_path: Path, dealership_yaml: Callable[..., str]) -> SettingsFactory:
    def make(**sections: Any) -> Settings:
        return load_text(dealership_yaml(**sections), tmp_path / "ringback.yaml").settings

    return make


@pytest.fixture
def settings(make_settings: SettingsFactory) -> Settings:
    return make_settings()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with Store(tmp_path / "ringback.db") as opened:
        yield opened


def local(text: str) -> datetime:
    """A site-local wall time `YYYY-MM-DD HH:MM[:SS]` as an aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=TZ).astimezone(UTC)


def clock_at(text: str) -> FrozenClock:
    return FrozenClock(local(text))


_serial = iter(range(1, 1_000_000))


def call(
    ended: str | datetime,
    *,
    outcome: Outcome = Outcome.MISSED,
    direction: Direction = Direction.INBOUND,
    caller: str = "5145550123",
    dialed: str | None = "5145550102",
    ring_seconds: float = 20.0,
    **fields: Any,
) -> CallRecord:
    """An inbound missed call to the service DID that ended at `ended` (site time)."""
    end = local(ended) if isinstance(ended, str) else ended
    return CallRecord(
        source="pbx",
        call_id=fields.pop("call_id", f"c{next(_serial)}"),
        started_at=end - timedelta(seconds=ring_seconds),
        ended_at=end,
        direction=direction,
        outcome=outcome,
        caller_raw=caller,
        dialed=dialed,
        ring_seconds=ring_seconds,
        **fields,
    )
