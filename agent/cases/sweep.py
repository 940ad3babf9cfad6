"""The cases' periodic work, owned by the daemon's task group: escalate once each
open case past its SLA with no attempt, and close as `expired` the cases nobody and
nothing touched for `cases.expire_days`. Each pass is one transaction per kind; a
pass that fails is logged and tried again at the next one."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta

from agent.config.settings import Settings
from agent.errors import RingbackError
from agent.model import Counters
from agent.store import Store

log = logging.getLogger(__name__)


async def sweep_once(
    store: Store, settings: Settings, now: datetime
) -> tuple[list[int], list[int]]:
    """(escalated case ids, expired case ids) of one pass at `now`."""
    escalated = await store.escalate_due(now)
    expired = await store.expire_untouched(now - timedelta(days=settings.cases.expire_days), now)
    for case_id in escalated:
        log.warning("case_id=%s escalated: past its SLA with no call back", case_id)
    if expired:
        log.info("%d case(s) expired untouched: %s", len(expired), expired)
    return escalated, expired


async def sweep_loop(
    store: Store, settings: Settings, clock: Callable[[], datetime], counters: Counters
) -> None:
    while True:
        try:
            escalated, expired = await sweep_once(store, settings, clock())
        except (RingbackError, sqlite3.Error) as err:
            log.error("the case sweep failed, trying again later: %s", err)
        else:
            counters.inc("cases_escalated", len(escalated))
            counters.inc("cases_expired", len(expired))
        await asyncio.sleep(settings.cases.sweep_seconds)
