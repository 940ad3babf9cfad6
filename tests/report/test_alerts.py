"""Live staffing alerts against a generated history in a real store."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from agent.config.settings import Settings, load_text
from agent.errors import ConfigError
from agent.model import CallRecord, Direction, Outcome
from agent.report.history import HistorySpec, write_history_file
from agent.report.watch import AlertWatcher
from agent.store import Store
from tests.agent.conftest import DEALERSHIP, merged
from tests.conftest import FrozenClock
from tests.report.conftest import MONDAY, local

MANAGER = "+15145550150"
ALERTS: dict[str, Any] = {
    "min_history_weeks": 4,
    "baseline_weeks": 8,
    "period_minutes": 120,
    "digest_at": "07:30",
    "managers": [
        {
            "name": "Service manager",
            "departments": ["service"],
            "phone": MANAGER,
            "webhook_url": "https://alerts.test/hook",
            "digest": True,
        }
    ],
}


def settings_with(tmp_path: Path, alerts: dict[str, Any]) -> Settings:
    data = merged(DEALERSHIP, {"alerts": alerts, "storage": {"path": str(tmp_path / "r.db")}})
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    return load_text(text, tmp_path / "ringback.yaml").settings


class Hook:
    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.posts.append(json.loads(request.content))
        return httpx.Response(200)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """Nine weeks of ordinary calls ending on Monday 2026-11-23 (no storm, no rush)."""
    spec = HistorySpec(end=MONDAY, days=63, calls_per_day=300.0, seed=5)
    write_history_file(str(tmp_path / "r.db"), spec)
    async with Store(tmp_path / "r.db") as opened:
        yield opened


async def spike(store: Store, count: int) -> None:
    """`count` extra missed Service calls between 09:05 and 09:55 on the Monday."""
    for i in range(count):
        end = local("2026-11-23 09:05") + timedelta(seconds=75 * i)
        record = CallRecord(
            "pbx",
            f"spike{i}",
            end - timedelta(seconds=30),
            end,
            Direction.INBOUND,
            Outcome.MISSED,
            caller_raw=f"51455520{i:02d}",
        )
        call_id, _ = await store.insert_call(record, f"+151455520{i:02d}", end)
        await store.set_decision(call_id, "service", False, "notify")


async def alert_texts(store: Store) -> list[tuple[str, str, str]]:
    rows = await store.fetchall(
        "SELECT to_e164, template, body FROM messages WHERE template IN ('alert','digest')"
    )
    return [(str(a), str(b), str(c)) for a, b, c in rows]


async def test_normal_monday_never_alerts(tmp_path: Path, store: Store) -> None:
    """An ordinary Monday morning, busy as Mondays are, is at its usual level: no
    department alerts, and the levels are visible for the status API."""
    clock = FrozenClock(local("2026-11-23 10:00"))
    watcher = AlertWatcher(settings_with(tmp_path, ALERTS), store, clock)
    for _ in range(6):
        assert await watcher.check_once() == []
        clock.advance(300)
    level = watcher.levels["service"]
    assert level.missed > 0 and level.usual > 0 and not level.alerting
    assert watcher.status()["departments"]["service"]["alerting"] is False
    assert await alert_texts(store) == []


async def test_spike_alerts_once_and_only_once(tmp_path: Path, store: Store) -> None:
    """A spike of missed Service calls fires one alert: one text queued for the
    Service manager through the outbox, one webhook POST; later checks within the
    period, also after a restart (a new watcher on the same store), fire nothing."""
    settings = settings_with(tmp_path, ALERTS)
    clock = FrozenClock(local("2026-11-23 10:00"))
    hook = Hook()
    await spike(store, 40)
    watcher = AlertWatcher(settings, store, clock, transport=httpx.MockTransport(hook))
    fired = await watcher.check_once()
    assert [level.department for level in fired] == ["service"]
    assert fired[0].score >= 3.5 and fired[0].missed >= 40
    texts = await alert_texts(store)
    assert len(texts) == 1 and texts[0][:2] == (MANAGER, "alert")
    missed = fired[0].missed  # in the site's staff language: French for this Quebec site
    assert texts[0][2].startswith(
        f"Garage Laval, service : {missed} appels manqués dans les 60 dernières minutes "
        "(d'habitude "
    )
    assert texts[0][2].endswith(" à cette heure-ci). Faut-il plus de monde au téléphone?")
    assert [p["department"] for p in hook.posts] == ["service"]
    for _ in range(3):
        clock.advance(300)
        assert await watcher.check_once() == []
    restarted = AlertWatcher(settings, store, clock, transport=httpx.MockTransport(hook))
    assert await restarted.check_once() == []
    assert len(await alert_texts(store)) == 1 and len(hook.posts) == 1
    assert restarted.status()["departments"]["service"]["last_alert_at"] is not None
    families = {name for name, *_ in watcher.metric_families()}
    assert "ringback_staffing_alerts_total" in families


async def test_no_alert_without_enough_history(tmp_path: Path, store: Store) -> None:
    """With fewer weeks in the store than min_history_weeks there is no usual level:
    the same spike fires nothing."""
    settings = settings_with(tmp_path, {**ALERTS, "min_history_weeks": 20})
    await spike(store, 40)
    watcher = AlertWatcher(settings, store, FrozenClock(local("2026-11-23 10:00")))
    assert await watcher.check_once() == []
    assert watcher.levels["service"].alerting


async def test_digest_once_a_day(tmp_path: Path, store: Store) -> None:
    """From digest_at on, a manager with digest: true gets yesterday's numbers once."""
    settings = settings_with(tmp_path, ALERTS)
    clock = FrozenClock(local("2026-11-23 07:00"))
    hook = Hook()
    watcher = AlertWatcher(settings, store, clock, transport=httpx.MockTransport(hook))
    assert await watcher.digests_once() == 0
    clock.advance(3600)
    assert await watcher.digests_once() == 1
    assert await watcher.digests_once() == 0
    texts = await alert_texts(store)
    assert len(texts) == 1 and texts[0][1] == "digest"
    assert texts[0][2].startswith("Garage Laval, dimanche 22 novembre 2026 — service : ")
    assert " appels, " in texts[0][2] and " rejoints ensuite" in texts[0][2]
    assert hook.posts[0]["date"] == str(date(2026, 11, 22))


def test_config_rejects_unknown_department_and_unreachable_manager(tmp_path: Path) -> None:
    """A manager of an unknown department, with no way to be reached, or asking for the
    weekly report without an e-mail address, is a configuration error."""
    bad_dept = {"managers": [{"name": "x", "departments": ["body"], "phone": MANAGER}]}
    with pytest.raises(ConfigError, match="unknown department 'body'"):
        settings_with(tmp_path, bad_dept)
    with pytest.raises(ConfigError, match="no phone, webhook_url or email"):
        settings_with(tmp_path, {"managers": [{"name": "x"}]})
    weekly = {"name": "x", "phone": MANAGER, "weekly_report": True}
    with pytest.raises(ConfigError, match="weekly_report: true but no email"):
        settings_with(tmp_path, {"managers": [weekly]})
    with pytest.raises(ConfigError, match="needs the smtp: section"):
        settings_with(tmp_path, {"managers": [{"name": "x", "email": "m@garage.example"}]})
