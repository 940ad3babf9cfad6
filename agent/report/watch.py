"""The alert task: checks the staffing rule of `agent.report.alerts` every few minutes and
sends the daily digests. Owned by the Runtime's TaskGroup (task name `alerts`).

Durable like the rest: an alert is a row of the `alerts` table before anything is
sent; a text to a manager is an outbox row (template `alert` or `digest`, body
rendered here) that the dispatcher sends through the sender chain, with its retries
and quiet hours; a webhook gets one POST with a few quick retries, its outcome
kept on the alert row. A failed check is logged and tried again next time: it never
takes the daemon down.

The weekly report e-mail (agent/report/weekly.py, which builds the report page) is
imported at its first check, and only on a site where a manager gets it: the report
builder stays out of a daemon that never sends it (tests/e2e/test_lean_start.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from agent.backoff import Backoff
from agent.client_tls import client_tls
from agent.config.alerts import AlertsConfig, ManagerConfig
from agent.config.settings import Settings
from agent.model import Counters, NumberFact
from agent.numbers import mask
from agent.report.alert_words import digest_part, digest_text, sending_text, staffing_text
from agent.report.alerts import Level, evaluate, same_windows
from agent.report.query import _LOST
from agent.store import Store, parse_ts, ts

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

WEBHOOK_TIMEOUT_SECONDS = 10.0
WEBHOOK_TRIES = 3


def _weekly_wanted(settings: Settings) -> bool:
    """Whether a manager gets the weekly report e-mail (`weekly_reports_once` sends
    nothing otherwise)."""
    return settings.smtp is not None and any(
        m.weekly_report and m.email for m in settings.alerts.managers
    )


class AlertWatcher:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        clock: Callable[[], datetime],
        wake: Callable[[], None] = lambda: None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.config: AlertsConfig = settings.alerts
        self.store = store
        self.clock = clock
        self.wake = wake
        self.transport = transport
        self.levels: dict[str, Level] = {}
        self.checked_at: datetime | None = None
        self.last_alert_at: dict[str, datetime] = {}
        self.counters = Counters(
            "checks", "check_failures", "staffing_alerts", "sending_alerts", "digests"
        )
        self.fired: Counters = Counters()
        self._stop = asyncio.Event()

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        """Check until `stop()`; every failure is logged and retried next interval."""
        while not self._stop.is_set():
            try:
                await self.check_once()
                await self.sending_alerts_once()
                await self.digests_once()
                if _weekly_wanted(self.settings):
                    from agent.report.weekly import weekly_reports_once

                    await weekly_reports_once(self.settings, self.store, self.clock())
            except Exception:
                self.counters.inc("check_failures")
                log.exception("alerts: the check failed; trying again at the next interval")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.config.check_minutes * 60)

    # --- staffing ------------------------------------------------------------------

    async def check_once(self) -> list[Level]:
        """One check of every department; returns the levels that alerted now."""
        now = self.clock()
        config = self.config
        windows = same_windows(
            now, self.settings.site.tz, config.window_minutes, config.baseline_weeks
        )
        counts = [await self._missed_by_department(start, end) for start, end in windows]
        enough = await self._history_weeks(now) >= config.min_history_weeks
        fired = []
        for name in self.settings.departments.by_name():
            history = [c.get(name, 0) for c in counts[1:]]
            level = evaluate(name, counts[0].get(name, 0), history, config)
            self.levels[name] = level
            if level.alerting and enough and await self._due(name, now):
                await self._fire(level, now)
                fired.append(level)
        self.checked_at = now
        self.counters.inc("checks")
        return fired

    async def _missed_by_department(self, start: datetime, end: datetime) -> dict[str, int]:
        rows = await self.store.fetchall(
            "SELECT department, COUNT(*) FROM calls WHERE ended_at >= ? AND ended_at < ? "
            f"AND direction = 'inbound' AND outcome IN {_LOST} GROUP BY department",
            (ts(start), ts(end)),
        )
        return {str(d): int(n) for d, n in rows if d is not None}

    async def _history_weeks(self, now: datetime) -> float:
        first = await self.store.scalar("SELECT MIN(ended_at) FROM calls")
        return (now - parse_ts(first)).total_seconds() / (7 * 86400) if first else 0.0

    async def _due(self, department: str, now: datetime) -> bool:
        last = await self.store.scalar(
            "SELECT MAX(fired_at) FROM alerts WHERE kind = 'staffing' AND department = ?",
            (department,),
        )
        if last is None:
            return True
        self.last_alert_at[department] = parse_ts(last)
        return now - parse_ts(last) >= timedelta(minutes=self.config.period_minutes)

    async def _fire(self, level: Level, now: datetime) -> None:
        dept = self.settings.departments.by_name()[level.department]
        body = staffing_text(
            self.settings.site.name,
            dept.label or level.department,
            level,
            self.config.window_minutes,
            self.settings.departments.language,
        )
        alert_id = await self._record(
            "staffing", level.department, f"staffing:{level.department}:{ts(now)}", now, body, level
        )
        self.last_alert_at[level.department] = now
        self.counters.inc("staffing_alerts")
        self.fired.inc(level.department)
        log.warning(
            "alert: %s missed %d calls in %d min (usual %g, score %.1f)",
            level.department,
            level.missed,
            self.config.window_minutes,
            level.usual,
            level.score,
        )
        payload = {
            "kind": "staffing",
            "site": self.settings.site.name,
            "department": level.department,
            "missed": level.missed,
            "usual": level.usual,
            "score": level.score,
            "window_minutes": self.config.window_minutes,
            "at": ts(now),
            "text": body,
        }
        managers = [m for m in self.config.managers if m.covers(level.department)]
        await self._deliver(alert_id, managers, "alert", level.department, body, payload, now)

    # --- sending faults ------------------------------------------------------------

    async def sending_alerts_once(self) -> int:
        """A provider said our own texts are filtered (Twilio 30007 carrier filtering,
        30034 unregistered A2P 10DLC) or our setup cannot send (21408, 21612): every
        manager hears it once a day per sender and code, with the fix the provider's
        code names, by text and webhook as a staffing alert. Returns how many fired."""
        now = self.clock()
        day = now.astimezone(self.settings.site.tz).date()
        fired = 0
        faults = await self.store.sending_faults(now - timedelta(days=1))
        for name, origin, code, detail, _ in faults:
            key = f"sending:{name}:{origin}:{code}:{day}"
            if await self.store.scalar("SELECT 1 FROM alerts WHERE dedup_key = ?", (key,)):
                continue
            fact = NumberFact(name)
            language = self.settings.departments.language
            body = sending_text(self.settings.site.name, fact, origin, code, detail, language)
            alert_id = await self._record("sending", "", key, now, body, None)
            self.counters.inc("sending_alerts")
            log.error("alert: %s", body)
            payload = {
                "kind": "sending",
                "site": self.settings.site.name,
                "fact": fact.value,
                "sender": origin,
                "code": code,
                "at": ts(now),
                "text": body,
            }
            await self._deliver(alert_id, self.config.managers, "alert", "", body, payload, now)
            fired += 1
        return fired

    # --- digests -------------------------------------------------------------------

    async def digests_once(self) -> int:
        """Yesterday's numbers to each manager with `digest: true`, once a local day,
        from `digest_at` on. Returns how many were queued now."""
        tz = self.settings.site.tz
        local = self.clock().astimezone(tz)
        if local.time() < time.fromisoformat(self.config.digest_at):
            return 0
        queued = 0
        for manager in (m for m in self.config.managers if m.digest):
            key = f"digest:{local.date()}:{manager.name}"
            if await self.store.scalar("SELECT 1 FROM alerts WHERE dedup_key = ?", (key,)):
                continue
            body, payload = await self._digest(manager, local)
            alert_id = await self._record("digest", "", key, self.clock(), body, None)
            await self._deliver(alert_id, [manager], "digest", "", body, payload, self.clock())
            self.counters.inc("digests")
            queued += 1
        return queued

    async def _digest(self, manager: ManagerConfig, local: datetime) -> tuple[str, dict[str, Any]]:
        tz = self.settings.site.tz
        day = local.date() - timedelta(days=1)
        start = datetime.combine(day, time(0), tz)
        end = datetime.combine(local.date(), time(0), tz)
        rows = await self.store.fetchall(
            "SELECT department, SUM(outcome = 'answered'), "
            f"SUM(outcome IN {_LOST}), SUM(outcome IN {_LOST} AND recovered_at IS NOT NULL) "
            "FROM calls WHERE direction = 'inbound' AND started_at >= ? AND started_at < ? "
            "GROUP BY department",
            (ts(start), ts(end)),
        )
        parts, numbers = [], {}
        language, departments = self.settings.departments.language, self.settings.departments
        for dept, answered, missed, recovered in rows:
            if dept is None or not manager.covers(str(dept)):
                continue
            base = (answered or 0) + (missed or 0)
            found = departments.by_name().get(str(dept))
            label = (found.label if found else None) or str(dept)
            parts.append(digest_part(label, base, missed or 0, recovered or 0, language))
            numbers[str(dept)] = {"answered": answered, "missed": missed, "recovered": recovered}
        body = digest_text(self.settings.site.name, day, parts, language)
        return body, {
            "kind": "digest",
            "site": self.settings.site.name,
            "date": str(day),
            "departments": numbers,
            "text": body,
        }

    # --- storage and delivery ------------------------------------------------------

    async def _record(
        self, kind: str, department: str, key: str, now: datetime, body: str, level: Level | None
    ) -> int:
        async with self.store.transaction() as conn:
            cursor = await conn.execute(
                "INSERT INTO alerts (kind, department, dedup_key, fired_at, missed, usual, score, "
                "body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    kind,
                    department,
                    key,
                    ts(now),
                    level.missed if level else None,
                    level.usual if level else None,
                    level.score if level else None,
                    body,
                ),
            )
            return int(cursor.lastrowid or 0)

    async def _deliver(
        self,
        alert_id: int,
        managers: list[ManagerConfig],
        template: str,
        department: str,
        body: str,
        payload: dict[str, Any],
        now: datetime,
    ) -> None:
        states = []
        for index, manager in enumerate(managers):
            if manager.phone:
                await self._enqueue(alert_id, index, manager.phone, template, department, body, now)
            if manager.webhook_url:
                states.append(f"{manager.name}: {await self._post(manager, payload)}")
        if states:
            async with self.store.transaction() as conn:
                await conn.execute(
                    "UPDATE alerts SET webhook_state = ? WHERE id = ?",
                    ("; ".join(states), alert_id),
                )
        self.wake()

    async def _enqueue(
        self,
        alert_id: int,
        index: int,
        phone: str,
        template: str,
        department: str,
        body: str,
        now: datetime,
    ) -> None:
        expires = now + timedelta(minutes=self.config.period_minutes)
        async with self.store.transaction() as conn:
            await conn.execute(
                "INSERT OR IGNORE INTO messages (call_id, to_e164, department, template, "
                "language, dedup_key, state, not_before, expires_at, body, created_at, "
                "updated_at) VALUES (NULL, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?)",
                (
                    phone,
                    department or self.settings.departments.default,
                    template,
                    self.settings.departments.language,
                    f"{template}:{alert_id}:{index}",
                    ts(now),
                    ts(expires),
                    body,
                    ts(now),
                    ts(now),
                ),
            )
        log.info("alert %d queued as a text to %s", alert_id, mask(phone))

    async def _post(self, manager: ManagerConfig, payload: dict[str, Any]) -> str:
        """One JSON POST to the manager's webhook, signed with its `webhook_secret` as
        the staff webhooks are (agent/send/hooks.py), a few quick tries on a failure
        worth retrying."""
        import httpx  # only when a webhook is configured: the import is slow at start-up

        from agent.send.hooks import post_body

        assert manager.webhook_url is not None
        body = json.dumps(payload, ensure_ascii=False).encode()
        async with httpx.AsyncClient(
            timeout=WEBHOOK_TIMEOUT_SECONDS, transport=self.transport, verify=client_tls()
        ) as client:
            problem = ""
            for attempt in range(WEBHOOK_TRIES):
                delivery = await post_body(manager.webhook_url, body, manager.webhook_key(), client)
                if delivery.ok:
                    return "sent"
                problem = delivery.reason
                if not delivery.retry:
                    break
                await asyncio.sleep(Backoff(1.0).delay(attempt))  # 0.5 s x 2**attempt
        log.warning("alert webhook failed: %s", problem)
        return f"failed: {problem}"

    # --- status and metrics --------------------------------------------------------

    def status(self) -> dict[str, Any]:
        return {
            "checked_at": self.checked_at.isoformat() if self.checked_at else None,
            "departments": {
                name: {
                    "missed_last_window": level.missed,
                    "usual": level.usual,
                    "score": level.score,
                    "alerting": level.alerting,
                    "last_alert_at": (
                        self.last_alert_at[name].isoformat() if name in self.last_alert_at else None
                    ),
                    "alerts_since_start": self.fired.get(name),
                }
                for name, level in self.levels.items()
            },
            "counters": self.counters.snapshot(),
        }

    def metric_families(self) -> list[tuple[str, str, str, list[tuple[dict[str, str], float]]]]:
        """(name, type, help, samples) for `/metrics`."""
        return [
            (
                "ringback_staffing_alerts_total",
                "counter",
                "Staffing alerts fired since start, by department.",
                [({"department": d}, n) for d, n in sorted(self.fired.snapshot().items())],
            ),
            (
                "ringback_missed_calls_window",
                "gauge",
                "Missed calls in the alert window at the last check, by department.",
                [({"department": d}, lv.missed) for d, lv in sorted(self.levels.items())],
            ),
            (
                "ringback_missed_calls_usual",
                "gauge",
                "Usual missed calls in that window (median of the same weekday and hour).",
                [({"department": d}, lv.usual) for d, lv in sorted(self.levels.items())],
            ),
        ]
